"""The consent log's pages: the "Privacy consents" block on the chart and /patients/<id>/consent-log/
(history, empty state, the form), reading with patients.view and recording with patients.edit; another
branch and another clinic get the same 404 as a missing patient. (/patients/<id>/consents, without the
slash, is the documents app's signed procedure consent forms: a different thing, left as it is.)"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from patients import consents
from patients.models import PatientConsent
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING
from tests.patients.branch_helpers import main_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller


def _form(**overrides):
    data = {"purpose": "marketing", "action": "granted", "given_by": "patient", "channel": "in_person", "note": ""}
    data.update(overrides)
    return data


def test_an_empty_log_says_so_and_the_chart_shows_the_block(clinic_a, client_for):
    patient = make_patient(clinic_a, consent=False, given_name="Kavya", family_name="Reddy")
    client = client_for(clinic_a, "nurse")
    page = client.get(f"/patients/{patient.pk}/consent-log/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "No consent decisions recorded yet" in html and "Record a decision" in html
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="consents-title"' in chart and "Marketing messages" in chart
    assert f"/patients/{patient.pk}/consent-log/" in chart


def test_front_desk_records_a_guardians_grant_and_sees_it_in_the_history(clinic_a, client_for, pinned):
    child = make_patient(
        clinic_a, consent=False, given_name="Ananya", date_of_birth=dt.date(2017, 8, 2), phone="",
        guardian_name="Ramesh Kulkarni", guardian_relation="Father", guardian_phone="+919845055566",
    )  # fmt: skip
    client = client_for(clinic_a, "front_desk")
    response = client.post(
        f"/patients/{child.pk}/consent-log/record",
        _form(purpose="whatsapp_reminders", given_by="guardian", channel="paper", note="Form 2231"),
    )
    assert response.status_code == 302 and response["Location"] == f"/patients/{child.pk}/consent-log/"
    with tenant_context(clinic_a.clinic):
        row = PatientConsent.objects.get(patient=child)
        assert (row.purpose, row.action, row.given_by, row.guardian_name, row.channel) == (
            "whatsapp_reminders", "granted", "guardian", "Ramesh Kulkarni", "paper",
        )  # fmt: skip
        assert row.recorded_by_id == clinic_a.users["front_desk"].pk
        assert consents.consent_allows(child, "whatsapp_reminders") == (True, "")
        assert AuditEvent.objects.filter(action="patient.consent_granted", object_id=str(row.pk)).exists()
    html = client.get(f"/patients/{child.pk}/consent-log/").content.decode()
    assert "Ramesh Kulkarni (father)" in html and "Form 2231" in html and "Signed paper form" in html
    assert "No consent decisions recorded yet" not in html


def test_a_bad_decision_is_shown_on_the_form(clinic_a, client_for):
    patient = make_patient(clinic_a, consent=False)
    client = client_for(clinic_a, "front_desk")
    response = client.post(f"/patients/{patient.pk}/consent-log/record", _form(given_by="guardian"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Name the guardian who gave the decision." in html and "There is a problem" in html
    with tenant_context(clinic_a.clinic):
        assert not PatientConsent.objects.filter(patient=patient).exists()


def test_reading_needs_patients_view_and_recording_needs_patients_edit(clinic_a, client_for):
    patient = make_patient(clinic_a, consent=False)
    assert client_for(clinic_a, "no_role").get(f"/patients/{patient.pk}/consent-log/").status_code == 403
    pharmacist = client_for(clinic_a, "pharmacist")  # may view patients, not edit them
    page = pharmacist.get(f"/patients/{patient.pk}/consent-log/")
    assert page.status_code == 200 and "Record a decision" not in page.content.decode()
    assert pharmacist.post(f"/patients/{patient.pk}/consent-log/record", _form()).status_code == 403
    with tenant_context(clinic_a.clinic):
        assert not PatientConsent.objects.filter(patient=patient).exists()


def test_another_branch_another_clinic_and_a_missing_patient_get_the_same_404(clinic_a, clinic_b, client_for):
    east = make_patient(clinic_a, consent=False, registered_location=clinic_a.locations[0])
    main_desk = client_for(clinic_a)
    main_desk.login_as(main_only(clinic_a, "front_desk"))
    other_clinic = client_for(clinic_b, "owner")
    for client in (main_desk, other_clinic):
        assert client.get(f"/patients/{east.pk}/consent-log/").status_code == 404
        assert client.post(f"/patients/{east.pk}/consent-log/record", _form()).status_code == 404
    assert main_desk.get(f"/patients/{uuid.uuid4()}/consent-log/").status_code == 404
    with tenant_context(clinic_a.clinic):
        assert not PatientConsent.objects.filter(patient=east).exists()


def test_the_charts_history_lists_the_consent_decisions(clinic_a, client_for, pinned):
    patient = make_patient(clinic_a, consent=False, given_name="Rohan", family_name="Das")
    with tenant_context(clinic_a.clinic):
        consents.consent_record(patient=patient, purpose="marketing", channel="in_person", actor=None)
        consents.consent_withdraw(
            patient=patient, purpose="marketing", channel="phone", actor=clinic_a.users["front_desk"]
        )
    html = client_for(clinic_a, "nurse").get(f"/patients/{patient.pk}/").content.decode()
    assert "Marketing messages: withdrawn" in html and "Marketing messages: granted" in html
    assert "By the patient, phone call" in html
