"""Inviting staff: the user is created without a password and emailed a one-time set-password link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.contrib.auth.tokens import default_token_generator
from django_tenants.utils import tenant_context

from accounts.services import password_set_url
from tests.accounts.console_helpers import audit_events, get_user, role

LINK_RE = re.compile(r"https?://\S+/set-password/\S+")


def invite(client, seeded, **overrides):
    data = {
        "full_name": "Dr. Kavya Menon",
        "email": "Kavya.Menon@Example.in",
        "role": str(role(seeded, "doctor").pk),
        "location_scope": "some",
        "locations": [str(seeded.locations[1].pk)],
        "phone": "+91 98450 12345",
        "registration_number": "KMC-77120",
        "qualifications": "MBBS, MD (Paediatrics)",
    }
    data.update(overrides)
    return client.post("/settings/staff/invite/", data)


def test_invite_creates_user_without_password_and_emails_a_working_link(
    clinic_a, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client_for(clinic_a, "owner"), clinic_a)
    assert response.status_code == 302
    user = get_user(clinic_a, email="kavya.menon@example.in")
    assert user is not None
    assert not user.has_usable_password()
    assert user.role.slug == "doctor"
    assert user.registration_number == "KMC-77120"
    with tenant_context(clinic_a.clinic):
        assert [loc.name for loc in user.locations.all()] == ["Main branch"]

    (message,) = mailoutbox
    assert message.to == ["kavya.menon@example.in"]
    assert "Alpha Clinic" in message.subject
    (link,) = LINK_RE.findall(message.body)
    parts = urlsplit(link)
    assert parts.hostname == clinic_a.host
    with tenant_context(clinic_a.clinic):
        # This user's set-password page with a valid token. The token carries the second it was made,
        # so a token made again now differs when the mail went out in the previous second.
        page, token = parts.path.rstrip("/").rsplit("/", 1)
        assert page == password_set_url(user).rstrip("/").rsplit("/", 1)[0]
        assert default_token_generator.check_token(user, token)
    (event,) = audit_events(clinic_a, "staff.invite")
    assert event.object_id == str(user.pk)
    assert event.metadata == {"role": "doctor"}


def test_invite_with_all_locations_leaves_locations_empty(clinic_a, client_for, in_tenant):
    invite(client_for(clinic_a, "owner"), clinic_a, location_scope="all", locations=[])
    user = get_user(clinic_a, email="kavya.menon@example.in")
    with in_tenant(clinic_a):
        assert user.locations.count() == 0


def test_rolled_back_or_invalid_invite_sends_nothing(
    clinic_a, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client_for(clinic_a, "owner"), clinic_a, email="NURSE@alpha.example.in")
    assert response.status_code == 200
    assert "already has an account" in response.content.decode()
    assert mailoutbox == []


def test_invite_form_explains_missing_fields(clinic_a, client_for):
    response = invite(
        client_for(clinic_a, "owner"), clinic_a, full_name="", email="not-an-email", location_scope="some", locations=[]
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert "Tick at least one location" in html


def test_bad_phone_number_is_rejected(clinic_a, client_for):
    response = invite(client_for(clinic_a, "owner"), clinic_a, phone="12")
    assert response.status_code == 200
    assert "Enter a phone number of 7 to 15 digits" in response.content.decode()
    assert get_user(clinic_a, email="kavya.menon@example.in") is None


def test_resend_invite_sends_a_new_link_and_the_old_one_stops_working(
    clinic_a, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(clinic_a, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, clinic_a)
    user = get_user(clinic_a, email="kavya.menon@example.in")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/settings/staff/{user.pk}/resend-invite/").status_code == 302
    first, second = (LINK_RE.findall(m.body)[0] for m in mailoutbox)
    assert first != second
    user = get_user(clinic_a, pk=user.pk)
    with tenant_context(clinic_a.clinic):
        assert not default_token_generator.check_token(user, first.rsplit("/", 1)[1])
        assert default_token_generator.check_token(user, second.rsplit("/", 1)[1])
    assert len(audit_events(clinic_a, "staff.invite_resend")) == 1


def test_resend_is_refused_once_the_password_is_set(clinic_a, client_for, mailoutbox):
    nurse = clinic_a.users["nurse"]
    response = client_for(clinic_a, "owner").post(f"/settings/staff/{nurse.pk}/resend-invite/", follow=True)
    assert "nothing to resend" in response.content.decode()
    assert mailoutbox == []


def test_staff_list_searches_and_paginates(clinic_a, client_for, in_tenant):
    from accounts.models import User

    with in_tenant(clinic_a):
        for n in range(55):
            User.objects.create_user(f"temp{n:02d}@alpha.example.in", None, full_name=f"Temp Worker {n:02d}")
    client = client_for(clinic_a, "owner")
    first = client.get("/settings/staff/").content.decode()
    assert "Page 1 of 2" in first
    found = client.get("/settings/staff/?q=worker+07").content.decode()
    assert "Temp Worker 07" in found and "Temp Worker 08" not in found
    pending = client.get("/settings/staff/?status=invited&q=temp").content.decode()
    assert "Invitation pending" in pending
    nobody = client.get("/settings/staff/?q=zzzz").content.decode()
    assert "Nobody matches this search" in nobody
