"""/api/v1/patients/{id}/consents: the consent log over the API, with the same access rules as the
pages (patients.view to read, patients.edit to record; other branch, other clinic, unknown id: 404)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from patients import consents
from patients.models import PatientConsent
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller


def _url(patient_id):
    return f"/api/v1/patients/{patient_id}/consents"


def _post(client, patient_id, token, **data):
    return client.post(_url(patient_id), data, content_type="application/json", **bearer(token))


def test_a_grant_and_a_withdrawal_through_the_api(clinic_a, client_for, pinned):
    patient = make_patient(clinic_a, consent=False, given_name="Farhan", family_name="Qureshi")
    token = make_token(clinic_a, clinic_a.users["front_desk"])
    client = client_for(clinic_a)
    created = _post(client, patient.pk, token, purpose="ai_assistance", note="Asked at the desk")
    assert created.status_code == 201, created.content
    row = created.json()
    assert (row["purpose"], row["action"], row["given_by"], row["channel"]) == (
        "ai_assistance", "granted", "patient", "api",
    )  # fmt: skip
    assert row["recorded_by"]["id"] == str(clinic_a.users["front_desk"].pk) and row["notice_version"]
    withdrawn = _post(client, patient.pk, token, purpose="ai_assistance", action="withdrawn", channel="phone")
    assert withdrawn.status_code == 201
    listed = client.get(_url(patient.pk), **bearer(token))
    assert listed.status_code == 200
    data = listed.json()
    assert data["count"] == 2 and [r["action"] for r in data["results"]] == ["withdrawn", "granted"]
    with tenant_context(clinic_a.clinic):
        assert consents.consent_allows(patient, "ai_assistance") == (False, "consent_withdrawn")


def test_a_minors_guardian_grant_takes_the_guardian_on_record(clinic_a, client_for, pinned):
    child = make_patient(
        clinic_a, consent=False, date_of_birth=dt.date(2014, 2, 20), phone="", guardian_name="Pooja Menon",
        guardian_relation="Mother", guardian_phone="+919845077788",
    )  # fmt: skip
    token = make_token(clinic_a, clinic_a.users["owner"])
    response = _post(client_for(clinic_a), child.pk, token, purpose="marketing", given_by="guardian")
    assert response.status_code == 201
    assert (response.json()["guardian_name"], response.json()["guardian_relation"]) == ("Pooja Menon", "Mother")
    with tenant_context(clinic_a.clinic):
        assert consents.consent_allows(child, "marketing") == (True, "")


def test_bad_input_names_the_field(clinic_a, client_for):
    patient = make_patient(clinic_a, consent=False)
    token = make_token(clinic_a, clinic_a.users["owner"])
    client = client_for(clinic_a)
    for data, field in (
        ({"purpose": "telemarketing"}, "purpose"),
        ({"purpose": "marketing", "channel": "import"}, "channel"),
        ({"purpose": "marketing", "given_by": "guardian"}, "guardian_name"),
    ):
        assert field in assert_error(_post(client, patient.pk, token, **data), 400)["fields"]
    with tenant_context(clinic_a.clinic):
        assert not PatientConsent.objects.filter(patient=patient).exists()


def test_reading_needs_patients_view_and_recording_needs_patients_edit(clinic_a, client_for):
    patient = make_patient(clinic_a, consent=False)
    pharmacist = make_token(clinic_a, clinic_a.users["pharmacist"])
    client = client_for(clinic_a)
    assert client.get(_url(patient.pk), **bearer(pharmacist)).status_code == 200
    assert_error(_post(client, patient.pk, pharmacist, purpose="marketing"), 403)
    nobody = make_token(clinic_a, clinic_a.users["no_role"])
    assert_error(client.get(_url(patient.pk), **bearer(nobody)), 403)


def test_other_branch_other_clinic_and_unknown_ids_get_404(clinic_a, clinic_b, client_for):
    east = make_patient(clinic_a, consent=False, registered_location=clinic_a.locations[0])
    with tenant_context(clinic_a.clinic):
        main_owner = User.objects.create_user(
            "owner-main-consents@alpha.example.in", "correct-horse-battery-42", full_name="Main Owner",
            role=Role.objects.get(slug="owner"),
        )  # fmt: skip
        main_owner.locations.set([clinic_a.locations[1]])
    for seeded, user in ((clinic_a, main_owner), (clinic_b, clinic_b.users["owner"])):
        token = make_token(seeded, user)
        client = client_for(seeded)
        assert_error(client.get(_url(east.pk), **bearer(token)), 404)
        assert_error(_post(client, east.pk, token, purpose="marketing"), 404)
        assert_error(client.get(_url(uuid.uuid4()), **bearer(token)), 404)
    with tenant_context(clinic_a.clinic):
        assert not PatientConsent.objects.filter(patient=east).exists()
