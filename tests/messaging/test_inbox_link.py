"""Linking a WhatsApp conversation to a patient from the inbox (an unknown number, a guardian's
phone, a user who shared no number), and undoing a wrong link."""

from __future__ import annotations

import uuid

from django_tenants.utils import tenant_context

from accounts.models import Role
from audit.models import AuditEvent
from messaging.models import Contact
from tests.appointments.helpers import make_patient
from tests.messaging.test_inbox import _restricted, _write


def test_an_unknown_number_is_offered_patients_with_that_phone_and_linked_by_staff(wa_a, client_for, clock):
    stranger = _write(wa_a, "wamid.U1", wa_id="919800000099", name="Unknown")
    patient = make_patient(wa_a, given_name="Kavya", family_name="Hegde", phone="+919800000099")
    with tenant_context(wa_a.clinic):  # two patients share the number, so nobody was linked automatically
        Contact.objects.filter(pk=stranger.pk).update(patient=None)
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/inbox/{stranger.pk}/").content.decode()
    assert "Who is this?" in html and "Kavya Hegde" in html and "Register a new patient" in html
    response = desk.post(f"/inbox/{stranger.pk}/link/", {"patient": str(patient.pk)})
    assert response.status_code == 302
    with tenant_context(wa_a.clinic):
        stranger.refresh_from_db()
        assert stranger.patient_id == patient.pk
        event = AuditEvent.objects.get(action="conversation.link_patient")
        assert event.metadata["patient"] == str(patient.pk)
    html = desk.get(f"/inbox/{stranger.pk}/").content.decode()
    assert "Who is this?" not in html and "Unlink from Kavya Hegde" in html


def test_find_searches_what_staff_type_and_says_when_nobody_matches(wa_a, client_for, clock):
    """A user who shared no number: staff find the patient the way the patient search does."""
    stranger = _write(wa_a, "wamid.U2", wa_id=None, user_id="IN.1234567890", name="")
    make_patient(wa_a, given_name="Imran", family_name="Qureshi", phone="+919876512345")
    desk = client_for(wa_a, "front_desk")
    assert "Imran Qureshi" in desk.get(f"/inbox/{stranger.pk}/?find=98765+12345").content.decode()
    html = desk.get(f"/inbox/{stranger.pk}/?find=zzzqx").content.decode()
    assert "No patient found for “zzzqx”" in html


def test_a_linked_conversation_is_not_moved_to_another_patient_without_unlinking(wa_a, client_for, clock):
    asha = make_patient(wa_a, given_name="Asha", phone="+919812345678")
    ravi = make_patient(wa_a, given_name="Ravi", family_name="Kumar", phone="+919876500001")
    contact = _write(wa_a, "wamid.L1")
    with tenant_context(wa_a.clinic):
        assert Contact.objects.get(pk=contact.pk).patient_id == asha.pk  # linked by phone
    desk = client_for(wa_a, "front_desk")
    response = desk.post(f"/inbox/{contact.pk}/link/", {"patient": str(ravi.pk)})
    assert response.status_code == 400 and "Unlink it first" in response.content.decode()
    assert desk.post(f"/inbox/{contact.pk}/unlink/").status_code == 302
    with tenant_context(wa_a.clinic):
        assert Contact.objects.get(pk=contact.pk).patient_id is None
        assert AuditEvent.objects.filter(action="conversation.unlink_patient").count() == 1
    assert desk.post(f"/inbox/{contact.pk}/link/", {"patient": str(ravi.pk)}).status_code == 302
    with tenant_context(wa_a.clinic):
        assert Contact.objects.get(pk=contact.pk).patient_id == ravi.pk


def test_only_whole_clinic_staff_link_and_only_to_patients_that_exist(wa_a, client_for, clock):
    """An unlinked conversation has no branch, so only staff of every branch see it (and may link
    it); a one-branch user who unlinks one of their branch's conversations loses it (404), and a
    patient id that is not a patient answers the same sentence as one the user may not open."""
    mine = make_patient(wa_a, given_name="Mainly", registered_location=wa_a.locations[1], phone="+919876500002")
    contact = _write(wa_a, "wamid.B1", wa_id="919876500002", name="Mainly")
    desk = client_for(wa_a).login_as(_restricted(wa_a))
    assert desk.post(f"/inbox/{contact.pk}/unlink/").status_code == 302
    assert desk.get(f"/inbox/{contact.pk}/").status_code == 404
    assert desk.post(f"/inbox/{contact.pk}/link/", {"patient": str(mine.pk)}).status_code == 404
    owner = client_for(wa_a, "owner")
    for target in (uuid.uuid4(), "not-an-id", ""):
        response = owner.post(f"/inbox/{contact.pk}/link/", {"patient": str(target)})
        assert response.status_code == 400 and "No such patient." in response.content.decode()
    assert owner.post(f"/inbox/{contact.pk}/link/", {"patient": str(mine.pk)}).status_code == 302
    assert desk.get(f"/inbox/{contact.pk}/").status_code == 200  # back on the branch's side


def test_linking_needs_the_send_capability(wa_a, client_for, clock):
    stranger = _write(wa_a, "wamid.C1", wa_id="919800000077", name="Unknown")
    patient = make_patient(wa_a, given_name="Kavya", phone="+919800000011")
    with tenant_context(wa_a.clinic):
        viewers = [role.slug for role in Role.objects.all() if "messaging.view" in role.capabilities]
        senders = {role.slug for role in Role.objects.all() if "messaging.send" in role.capabilities}
    readonly = [slug for slug in viewers if slug not in senders]
    for slug in readonly:
        client = client_for(wa_a, slug)
        assert "Who is this?" not in client.get(f"/inbox/{stranger.pk}/").content.decode()
        assert client.post(f"/inbox/{stranger.pk}/link/", {"patient": str(patient.pk)}).status_code == 403
    with tenant_context(wa_a.clinic):
        assert Contact.objects.get(pk=stranger.pk).patient_id is None
