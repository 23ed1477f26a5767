"""Findings of an outside review of branch isolation, each fixed: every test states the expected behaviour.

Locations of the seeded clinic are sorted by name: index 0 is East branch, 1 is Main branch. The
restricted users made here work at Main only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditEvent, RecordAccess
from clinical.models import Prescription, PrescriptionItem
from patients import access
from patients.models import Patient
from tests.accounts.api_helpers import bearer, make_token
from tests.patients.branch_helpers import branch_patient, branch_visit, main_only
from tests.patients.test_registry_views import form_data


def _prescription(clinic: Any, patient: Patient, *, location: int, drug: str = "Paracetamol") -> Prescription:
    with tenant_context(clinic.clinic):
        rx = Prescription.objects.create(
            patient=patient, location=clinic.locations[location], prescriber=clinic.users["doctor"]
        )
        PrescriptionItem.objects.create(prescription=rx, position=0, drug_name=drug, dose="500 mg")
    return rx


# --- 1. ABHA uniqueness error names another branch's patient -------------------------------------


def test_registering_with_an_abha_number_of_another_branchs_patient_does_not_reveal_their_mrn(
    clinic_a, client_for, in_tenant
):
    """The ABHA uniqueness check runs over the whole clinic and its message names the owner's MRN:
    a restricted user learns the MRN (then, via open-at-branch, the name) behind any ABHA number."""
    hidden = branch_patient(clinic_a, location=0, abha_number="91-2345-6789-0123")
    desk = main_only(clinic_a, "front_desk")
    pages = client_for(clinic_a).login_as(desk)
    response = pages.post(
        "/patients/new",
        form_data(
            clinic_a,
            given_name="Zorawar",
            family_name="Sandhu",
            phone="98861 55555",
            abha_number="91-2345-6789-0123",
            confirm_new_patient="on",
            registered_location=str(clinic_a.locations[1].pk),
        ),
    )
    assert response.status_code == 200  # refused, as it should be
    assert hidden.mrn not in response.content.decode()


# --- 2. Registration duplicate check browses other branches by name and approximate age ----------


def test_registration_duplicate_check_does_not_list_other_branch_patients_matched_only_by_name_and_age(
    clinic_a, client_for
):
    """README: a patient of another branch is found by exact MRN or full phone number only. The
    duplicate check also lists other branches' patients (full name, MRN, branch) for a similar name
    and an age give or take a year, so typing a name and an age browses the other branches."""
    hidden = branch_patient(
        clinic_a, location=0, given_name="Meenakshi", family_name="Raghavan", date_of_birth=dt.date(1990, 5, 1)
    )
    desk = main_only(clinic_a, "front_desk")
    pages = client_for(clinic_a).login_as(desk)
    age = timezone.localdate().year - 1990
    response = pages.post(
        "/patients/new",
        form_data(
            clinic_a,
            given_name="Meenakshi",
            family_name="Raghavan",
            date_of_birth="",
            age_years=str(age),
            phone="98862 77777",
            registered_location=str(clinic_a.locations[1].pk),
        ),
    )
    html = response.content.decode()
    assert hidden.mrn not in html


# --- 3. The open-at-branch MRN page is an unaudited directory oracle ----------------------------


def test_looking_up_another_branchs_patient_by_mrn_leaves_a_trace(clinic_a, client_for, in_tenant):
    """GET /patients/open-at-branch?mrn=... shows the full name and branch of any other branch's
    patient; MRNs are sequential (PREFIX-000001, ...), so the page enumerates the directory. The
    lookup writes no audit event and no record-access row."""
    hidden = branch_patient(clinic_a, location=0)
    doctor = main_only(clinic_a, "doctor")
    pages = client_for(clinic_a).login_as(doctor)
    response = pages.get(f"/patients/open-at-branch?mrn={hidden.mrn}")
    # Only the given name and the family name's initial before a reason is given.
    html = response.content.decode()
    assert response.status_code == 200 and f"{hidden.given_name} B." in html and hidden.full_name not in html
    with in_tenant(clinic_a):
        traced = (
            AuditEvent.objects.filter(object_id=str(hidden.pk)).exclude(action="patient.create").exists()
            or RecordAccess.objects.filter(patient_id=hidden.pk, user_id=doctor.pk).exists()
        )
    assert traced


def test_enumerating_mrns_on_the_open_at_branch_page_is_rate_limited(clinic_a, client_for, monkeypatch):
    """Look-ups that find someone at another branch are budgeted per user and hour; misses are free
    (a desk searching its own patients is never slowed down)."""
    monkeypatch.setattr(access, "LOOKUPS_ELSEWHERE_PER_HOUR", 2)
    patients = [branch_patient(clinic_a, location=0) for _ in range(3)]
    doctor = main_only(clinic_a, "doctor")
    pages = client_for(clinic_a).login_as(doctor)
    prefix, _ = patients[0].mrn.rsplit("-", 1)
    for _ in range(5):
        assert pages.get(f"/patients/open-at-branch?mrn={prefix}-999999").status_code == 404
    statuses = [pages.get(f"/patients/open-at-branch?mrn={p.mrn}").status_code for p in patients]
    assert statuses == [200, 200, 429]


# --- 4. List endpoints return patients' records without a record-access row ---------------------


def test_listing_prescriptions_through_the_api_logs_a_read_of_each_patient(clinic_a, client_for, in_tenant):
    patient = branch_patient(clinic_a, location=1)
    _prescription(clinic_a, patient, location=1, drug="Amoxicillin")
    doctor = main_only(clinic_a, "doctor")
    token = make_token(clinic_a, doctor)
    response = client_for(clinic_a).get("/api/v1/prescriptions", **bearer(token))
    assert response.status_code == 200
    assert "Amoxicillin" in response.content.decode()
    with in_tenant(clinic_a):
        assert RecordAccess.objects.filter(patient_id=patient.pk, user_id=doctor.pk).exists()


def test_listing_visits_page_logs_a_read_of_each_patient(clinic_a, client_for, in_tenant):
    patient = branch_patient(clinic_a, location=1)
    branch_visit(clinic_a, patient, location=1, complaint="Chest pain on exertion")
    doctor = main_only(clinic_a, "doctor")
    pages = client_for(clinic_a).login_as(doctor)
    response = pages.get("/visits/")
    assert response.status_code == 200 and "Chest pain on exertion" in response.content.decode()
    with in_tenant(clinic_a):
        assert RecordAccess.objects.filter(patient_id=patient.pk, user_id=doctor.pk).exists()


# --- 5. Completing an appointment with another branch's visit id: a different answer than 404 ---


def test_completing_an_appointment_with_another_branchs_visit_answers_like_a_missing_visit(
    clinic_a, client_for, in_tenant
):
    from appointments.models import Appointment

    patient = branch_patient(clinic_a, location=1)
    east_visit = branch_visit(clinic_a, patient, location=0, complaint="Hidden at East")
    desk = main_only(clinic_a, "front_desk")
    with in_tenant(clinic_a):
        from appointments.models import AppointmentType

        kind = AppointmentType.objects.create(name="Review consult", duration_minutes=15)
        start = timezone.now() - dt.timedelta(hours=1)
        appointment = Appointment.objects.create(
            patient=patient,
            clinician=clinic_a.users["doctor"],
            location=clinic_a.locations[1],
            appointment_type=kind,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=15),
            status="in_consultation",
        )
    token = make_token(clinic_a, desk)
    api = client_for(clinic_a)
    missing = api.post(
        f"/api/v1/appointments/{appointment.pk}/complete",
        {"visit": str(uuid.uuid4())},
        content_type="application/json",
        **bearer(token),
    )
    hidden = api.post(
        f"/api/v1/appointments/{appointment.pk}/complete",
        {"visit": str(east_visit.pk)},
        content_type="application/json",
        **bearer(token),
    )
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


# --- 6. CSV import preview matches patients of every branch and shows their MRN -----------------

IN_MEMORY_FILES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}


def test_import_preview_of_a_main_branch_import_does_not_reveal_east_patients(
    clinic_a, client_for, in_tenant, settings
):
    """importer.find_existing looks up the row's source id / phone+name over the whole clinic and the
    preview prints "Already registered (MRN)": a branch-restricted importer probes the other branches
    with a CSV of guessed source ids or phone numbers."""
    from patients import importer

    settings.STORAGES = IN_MEMORY_FILES
    hidden = branch_patient(clinic_a, location=0, external_ref="LEGACY-4242")
    admin = main_only(clinic_a, "administrator")
    with in_tenant(clinic_a):
        patient_import = importer.patient_import_upload(
            actor=admin,
            data=b"Patient ID,Name,Mobile\nLEGACY-4242,Somebody Else,98450 99999\n",
            original_name="probe.csv",
            location=clinic_a.locations[1],
        )
        importer.patient_import_set_mapping(patient_import=patient_import, mapping=patient_import.mapping, actor=admin)
    pages = client_for(clinic_a).login_as(admin)
    response = pages.get(f"/patients/import/{patient_import.pk}/")
    assert response.status_code == 200
    assert hidden.mrn not in response.content.decode()


# --- 7. The merge page shows a second patient's record without logging the read -----------------


def test_merge_comparison_by_mrn_logs_a_read_of_the_other_patient(clinic_a, client_for, in_tenant):
    """GET /patients/<id>/merge?other=<MRN> shows the other record side by side (phone, email,
    address, allergies, conditions); _find_other looks the MRN up through visible_patients directly,
    so unlike the id path (patient_access) no record-access row is written for it."""
    survivor = branch_patient(clinic_a, location=1, given_name="Farhan", family_name="Qureshi")
    duplicate = branch_patient(
        clinic_a, location=1, given_name="Farhaan", family_name="Qureshi", allergies="Sulfa drugs"
    )
    pages = client_for(clinic_a, "owner")
    response = pages.get(f"/patients/{survivor.pk}/merge?other={duplicate.mrn}")
    assert response.status_code == 200 and "Sulfa drugs" in response.content.decode()
    owner = clinic_a.users["owner"]
    with in_tenant(clinic_a):
        assert RecordAccess.objects.filter(patient_id=duplicate.pk, user_id=owner.pk).exists()


# --- 8. A break-the-glass grant outlives the capability and the branch it was given for ----------


def _open_at_main(clinic: Any, client_for: Any, user: User, patient: Patient) -> Any:
    pages = client_for(clinic).login_as(user)
    opened = pages.post("/patients/open-at-branch", {"mrn": patient.mrn, "reason": "Walk-in at Main with fever"})
    assert opened.status_code == 302
    return pages


def test_a_grant_stops_working_when_the_user_loses_the_cross_branch_capability(clinic_a, client_for, in_tenant):
    """patients.access._live_grant checks only user, patient and expiry: a user whose role no longer
    carries patients.cross_branch keeps opening the other branch's patient until the grant expires."""
    patient = branch_patient(clinic_a, location=0)
    nurse = main_only(clinic_a, "nurse")
    _open_at_main(clinic_a, client_for, nurse, patient)
    with in_tenant(clinic_a):
        User.objects.filter(pk=nurse.pk).update(role=Role.objects.get(slug="pharmacist"))
        demoted = User.objects.get(pk=nurse.pk)
        assert not demoted.has_capability("patients.cross_branch")
    pages = client_for(clinic_a).login_as(demoted)
    assert pages.get(f"/patients/{patient.pk}/").status_code == 404


def test_a_grant_stops_working_when_the_user_no_longer_works_at_the_branch_it_was_opened_at(
    clinic_a, client_for, in_tenant
):
    """The grant records the branch it was opened at (grant.location) but nothing reads it: after the
    user is moved to another branch the 12-hour grant still opens the patient there."""
    from accounts.models import Location

    patient = branch_patient(clinic_a, location=0)
    doctor = main_only(clinic_a, "doctor")
    _open_at_main(clinic_a, client_for, doctor, patient)
    with in_tenant(clinic_a):
        north = Location.objects.create(name=f"North branch {uuid.uuid4().hex[:4]}")
        User.objects.get(pk=doctor.pk).locations.set([north])
        moved = User.objects.get(pk=doctor.pk)
    pages = client_for(clinic_a).login_as(moved)
    assert pages.get(f"/patients/{patient.pk}/").status_code == 404


# --- 9. Prescription version history is not scoped ----------------------------------------------


def test_prescription_version_history_lists_only_versions_the_user_may_open(clinic_a, client_for, in_tenant):
    """clinical.selectors.prescription_versions follows `previous` with bare Prescription.objects:
    a Main-branch version of a prescription first written at East (owner revised it and moved the
    draft to Main, which prescription_update allows) links the East version and its East visit."""
    patient = branch_patient(clinic_a, location=1)
    east_visit = branch_visit(clinic_a, patient, location=0, complaint="East consult")
    v1 = _prescription(clinic_a, patient, location=0)
    with in_tenant(clinic_a):
        Prescription.objects.filter(pk=v1.pk).update(visit=east_visit, status=Prescription.Status.SUPERSEDED)
        v2 = Prescription.objects.create(
            patient=patient,
            location=clinic_a.locations[1],
            prescriber=clinic_a.users["doctor"],
            version=2,
            previous_id=v1.pk,
            visit=east_visit,
        )
    doctor = main_only(clinic_a, "doctor")
    pages = client_for(clinic_a).login_as(doctor)
    assert pages.get(f"/prescriptions/{v1.pk}/").status_code == 404  # the East version itself is hidden
    html = pages.get(f"/prescriptions/{v2.pk}/").content.decode()
    assert str(v1.pk) not in html
    assert str(east_visit.pk) not in html
