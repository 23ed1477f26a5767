"""Who reaches the breach register: privacy managers who work at every branch. A user without
`privacy.manage`, a branch-restricted privacy manager and another clinic get nothing, on every
page and action (the same 404 for another clinic's incident as for a missing one)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from privacy.models import AffectedPatient
from tests.appointments.helpers import make_patient
from tests.privacy.breach_helpers import incident

PASSWORD = "correct-horse-battery-42"
GET = ["", "edit/", "notice/", "notice/progress/", "notice/letters/"]
POST = ["status/", "report/", "affected/compute/", "affected/add/", "notice/send/"]


@pytest.fixture
def breach(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        found = incident(clinic_a, discovered_at=timezone.now() - dt.timedelta(hours=1))
        AffectedPatient.objects.create(incident=found, patient=patient, source="manual")
    return found, patient


def _urls(breach):
    found, patient = breach
    base = f"/settings/privacy/breaches/{found.pk}/"
    gets = ["/settings/privacy/breaches/", "/settings/privacy/breaches/new/"] + [base + p for p in GET]
    posts = [base + p for p in POST] + [f"{base}affected/{patient.pk}/remove/"]
    return gets, posts


def test_the_owner_opens_every_page(clinic_a, client_for, breach):
    client = client_for(clinic_a, "owner")
    gets, _ = _urls(breach)
    for url in gets:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["no_role", "front_desk", "doctor", "administrator"])
def test_users_without_privacy_manage_get_nothing(clinic_a, client_for, breach, role):
    client = client_for(clinic_a, role)
    gets, posts = _urls(breach)
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, {"status": "closed", "target": "board", "mrn": "X"}).status_code == 403, url


def test_a_branch_restricted_privacy_manager_gets_nothing(clinic_a, client_for, breach):
    with tenant_context(clinic_a.clinic):
        user = User.objects.create_user(
            "main-owner@alpha.example.in", PASSWORD, full_name="Main Owner", role=Role.objects.get(slug="owner")
        )
        user.locations.set([clinic_a.locations[1]])
    client = client_for(clinic_a).login_as(user)
    gets, posts = _urls(breach)
    for url in gets:
        assert client.get(url).status_code in (403, 404), url
    for url in posts:
        assert client.post(url, {"status": "closed", "target": "board"}).status_code in (403, 404), url
    with tenant_context(clinic_a.clinic):
        breach[0].refresh_from_db()
        assert breach[0].status == "open" and breach[0].board_reported_at is None


def test_another_clinic_gets_the_same_404_as_a_missing_incident(clinic_a, clinic_b, client_for, breach):
    client = client_for(clinic_b, "owner")
    gets, posts = _urls(breach)
    for url in gets[2:]:
        assert client.get(url).status_code == 404, url
        assert client.get(url.replace(str(breach[0].pk), str(uuid.uuid4()))).status_code == 404
    for url in posts:
        assert client.post(url, {"status": "closed", "target": "board", "mrn": "X"}).status_code == 404, url
    with tenant_context(clinic_a.clinic):
        breach[0].refresh_from_db()
        assert breach[0].status == "open" and AffectedPatient.objects.filter(excluded=False).count() == 1


def test_recording_a_breach_through_the_form(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    with tenant_context(clinic_a.clinic):
        account = clinic_a.users["front_desk"]
    now = timezone.localtime().replace(second=0, microsecond=0)
    response = client.post(
        "/settings/privacy/breaches/new/",
        {"title": "Receptionist's password phished", "kind": "staff_account",
         "discovered_at": now.strftime("%Y-%m-%dT%H:%M"),
         "occurred_from": (now - dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"), "account": account.pk,
         "description": "A link in a fake courier email."},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "BR-000001" in page and "Due " in page and "Compute from the access and audit logs" in page
    missing = client.post(
        "/settings/privacy/breaches/new/",
        {"title": "x", "kind": "staff_account", "discovered_at": now.strftime("%Y-%m-%dT%H:%M")},
    )
    assert "Choose the staff account that was used." in missing.content.decode()
