"""A patient of another branch: invisible until explicitly opened here, with a reason, for a while.

Locations of the seeded clinic are sorted by name: index 0 is East branch, 1 is Main branch. The
users here work at Main only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent, RecordAccess
from clinical import services as clinical
from clinical.models import Visit
from patients.models import PatientAccessGrant
from tests.docos.crypto_helpers import raw_value
from tests.patients.branch_helpers import branch_patient, branch_visit, main_only
from tests.patients.test_registry_views import form_data


@pytest.fixture
def doctor(clinic_a: Any) -> User:
    return main_only(clinic_a, "doctor")


def test_a_patient_registered_and_seen_only_at_another_branch_stays_invisible(clinic_a, client_for, doctor):
    patient = branch_patient(clinic_a, location=0)
    branch_visit(clinic_a, patient, location=0)
    pages = client_for(clinic_a).login_as(doctor)
    assert pages.get(f"/patients/{patient.pk}/").status_code == 404
    assert patient.mrn not in pages.get(f"/patients/?q={patient.given_name}").content.decode()
    # A visit at the doctor's own branch is what makes the patient theirs too.
    branch_visit(clinic_a, patient, location=1)
    assert pages.get(f"/patients/{patient.pk}/").status_code == 200
    assert patient.mrn in pages.get(f"/patients/?q={patient.given_name}").content.decode()


def test_creating_a_visit_for_a_patient_you_cannot_see_is_refused(clinic_a, client_for, doctor, in_tenant):
    patient = branch_patient(clinic_a, location=0)
    api = client_for(clinic_a).login_as(doctor)
    response = api.post(
        f"/api/v1/patients/{patient.pk}/visits",
        {"location": str(clinic_a.locations[1].pk), "chief_complaint": "Fever"},
        content_type="application/json",
    )
    assert response.status_code == 404
    with in_tenant(clinic_a), pytest.raises(Http404):
        clinical.visit_create(patient=patient, actor=doctor, location=clinic_a.locations[1], chief_complaint="Fever")
    with in_tenant(clinic_a):
        assert not Visit.objects.filter(patient=patient).exists()
    assert api.get(f"/patients/{patient.pk}/").status_code == 404


def test_an_exact_mrn_search_offers_to_open_the_patient_at_this_branch(clinic_a, client_for, doctor):
    patient = branch_patient(clinic_a, location=0)
    pages = client_for(clinic_a).login_as(doctor)
    html = pages.get(f"/patients/?q={patient.mrn}").content.decode()
    assert "At other branches" in html
    assert f"/patients/open-at-branch?mrn={patient.mrn}" in html
    # A name search never lists other branches' patients.
    assert "At other branches" not in pages.get(f"/patients/?q={patient.given_name}").content.decode()


def test_opening_at_this_branch_needs_a_reason_and_is_audited(clinic_a, client_for, doctor, in_tenant):
    patient = branch_patient(clinic_a, location=0)
    visit = branch_visit(clinic_a, patient, location=0, complaint="Migraine")
    pages = client_for(clinic_a).login_as(doctor)
    form = pages.get(f"/patients/open-at-branch?mrn={patient.mrn}")
    # Before a reason is given: the given name and the family name's initial, enough to confirm who it is.
    assert form.status_code == 200 and f"{patient.given_name} B." in form.content.decode()
    assert patient.full_name not in form.content.decode()

    refused = pages.post("/patients/open-at-branch", {"mrn": patient.mrn, "reason": "x"})
    assert refused.status_code == 200 and "at least 10 characters" in refused.content.decode()
    with in_tenant(clinic_a):
        assert not PatientAccessGrant.objects.filter(patient=patient).exists()

    reason = "Walk-in for migraine follow-up started at East"
    opened = pages.post("/patients/open-at-branch", {"mrn": patient.mrn, "reason": reason})
    assert opened.status_code == 302 and opened["Location"] == f"/patients/{patient.pk}/"
    assert pages.get(f"/patients/{patient.pk}/").status_code == 200
    assert pages.get(f"/visits/{visit.pk}/").status_code == 200  # the whole record, all branches
    with in_tenant(clinic_a):
        grant = PatientAccessGrant.objects.get(patient=patient, user=doctor)
        assert dt.timedelta(hours=11) < grant.expires_at - timezone.now() <= dt.timedelta(hours=12)
        event = AuditEvent.objects.get(action="patient.opened_at_branch", object_id=str(patient.pk))
        assert event.actor_id == doctor.pk
        assert event.metadata["grant_id"] == str(grant.pk)
        assert "migraine" not in str(event.metadata).lower()  # the reason stays out of the audit row
    stored = raw_value(clinic_a.schema, "patients_patientaccessgrant", "reason", grant.pk)
    assert b"migraine" not in bytes(stored).lower()


def test_the_grant_ends_when_it_expires(clinic_a, client_for, doctor, in_tenant):
    patient = branch_patient(clinic_a, location=0)
    pages = client_for(clinic_a).login_as(doctor)
    pages.post("/patients/open-at-branch", {"mrn": patient.mrn, "reason": "Patient in front of me at Main"})
    assert pages.get(f"/patients/{patient.pk}/").status_code == 200
    with in_tenant(clinic_a):
        PatientAccessGrant.objects.filter(patient=patient).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert pages.get(f"/patients/{patient.pk}/").status_code == 404


def test_staff_without_the_capability_cannot_open_another_branchs_patient(clinic_a, client_for, in_tenant):
    pharmacist = main_only(clinic_a, "pharmacist")
    patient = branch_patient(clinic_a, location=0)
    pages = client_for(clinic_a).login_as(pharmacist)
    response = pages.post("/patients/open-at-branch", {"mrn": patient.mrn, "reason": "Dispensing a prescription"})
    assert response.status_code in (403, 404)
    with in_tenant(clinic_a):
        assert not PatientAccessGrant.objects.exists()


def test_an_unknown_or_own_branch_mrn_offers_nothing(clinic_a, client_for, doctor):
    own = branch_patient(clinic_a, location=1)
    pages = client_for(clinic_a).login_as(doctor)
    assert pages.get("/patients/open-at-branch?mrn=NOPE-000001").status_code == 404
    assert pages.get(f"/patients/open-at-branch?mrn={own.mrn}").status_code == 404


def test_registration_duplicates_at_another_branch_offer_to_open_them(clinic_a, client_for, in_tenant):
    desk = main_only(clinic_a, "front_desk")
    other = branch_patient(clinic_a, location=0, given_name="Kavya", family_name="Menon", phone="+919845012345")
    assert other.mrn
    pages = client_for(clinic_a).login_as(desk)
    response = pages.post(
        "/patients/new",
        form_data(
            clinic_a, family_name="Menon", phone="98450 12345", registered_location=str(clinic_a.locations[1].pk)
        ),
    )
    html = response.content.decode()
    assert "Possible duplicates" in html
    assert f"/patients/open-at-branch?mrn={other.mrn}" in html


def test_the_chart_shows_only_this_branchs_records(clinic_a, client_for, doctor):
    patient = branch_patient(clinic_a, location=1)
    branch_visit(clinic_a, patient, location=1, complaint="Cough at Main")
    branch_visit(clinic_a, patient, location=0, complaint="Fracture at East")
    pages = client_for(clinic_a).login_as(doctor)
    html = pages.get(f"/patients/{patient.pk}/").content.decode()
    assert "1 visit" in html and "2 visits" not in html
    assert "Fracture at East" not in html
    listed = pages.get(f"/api/v1/patients/{patient.pk}/visits").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert len(rows) == 1


def test_reads_are_logged_once_per_window_and_shown_to_audit_readers(clinic_a, client_for, doctor, in_tenant):
    patient = branch_patient(clinic_a, location=1)
    pages = client_for(clinic_a).login_as(doctor)
    for _ in range(3):
        assert pages.get(f"/patients/{patient.pk}/").status_code == 200
    with in_tenant(clinic_a):
        reads = list(RecordAccess.objects.filter(patient_id=patient.pk))
    assert [(r.user_id, r.what) for r in reads] == [(doctor.pk, "chart")]
    assert "Who opened this record" not in pages.get(f"/patients/{patient.pk}/").content.decode()
    owner_view = client_for(clinic_a, "owner").get(f"/patients/{patient.pk}/").content.decode()
    assert "Who opened this record" in owner_view and doctor.full_name in owner_view
