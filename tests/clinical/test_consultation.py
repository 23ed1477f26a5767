"""The consultation screen (/consult/<patient>): chart summary, one form saving the visit and its
prescription as drafts, signing both (safety findings and incomplete lines shown inline), access."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from clinical import allergies
from clinical import services as clinical
from clinical.models import Prescription, Visit
from tests.clinical.clinical_helpers import (
    ITEM,
    clinic_files,  # noqa: F401  (fixture)
    make_patient,
    restrict,
    signing_doctor,
)

pytestmark = pytest.mark.usefixtures("clinic_files")

AMOXICILLIN = {**ITEM, "drug_name": "Amoxicillin", "strength": "500 mg", "form": "Capsule", "dose": "1 cap"}


def screen(seeded: Any, *, items: list[dict[str, Any]] = (), action: str = "save", **extra: Any) -> dict[str, Any]:
    """The consultation form as a browser posts it."""
    data: dict[str, Any] = {
        "location": str(seeded.locations[0].pk),
        "chief_complaint": "Fever and sore throat for 3 days",
        "bp_systolic": "124",
        "bp_diastolic": "82",
        "pulse": "92",
        "temperature_c": "38.4",
        "examination": "Congested pharynx, no exudate.",
        "advice": "Warm saline gargles, plenty of fluids.",
        "follow_up_date": "2026-12-14",
        "diagnoses-TOTAL_FORMS": "1",
        "diagnoses-INITIAL_FORMS": "0",
        "diagnoses-MIN_NUM_FORMS": "0",
        "diagnoses-MAX_NUM_FORMS": "20",
        "diagnoses-0-text": "Acute upper respiratory infection",
        "diagnoses-0-icd10": "J06.9",
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "30",
        "action": action,
    }
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"items-{index}-{key}"] = value
    data.update(extra)
    return data


def _visits(seeded: Any, patient: Any) -> list[Visit]:
    with tenant_context(seeded.clinic):
        return list(Visit.objects.filter(patient=patient))


def _prescription(seeded: Any, visit: Visit) -> Prescription | None:
    with tenant_context(seeded.clinic):
        return visit.prescriptions.prefetch_related("items").first()


def test_save_draft_keeps_everything_and_reopens_it(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    assert client.get(f"/consult/{patient.pk}").status_code == 200
    response = client.post(f"/consult/{patient.pk}", screen(clinic_a, items=[ITEM]))
    assert response.status_code == 302
    [visit] = _visits(clinic_a, patient)
    assert visit.status == "draft" and visit.clinician_id == clinic_a.users["doctor"].pk
    assert visit.chief_complaint.startswith("Fever") and visit.pulse == 92 and visit.bp_systolic == 124
    assert visit.diagnoses == [{"text": "Acute upper respiratory infection", "icd10": "J06.9"}]
    assert str(visit.follow_up_date) == "2026-12-14"
    rx = _prescription(clinic_a, visit)
    assert rx is not None and rx.status == "draft" and str(rx.follow_up_date) == "2026-12-14"
    with tenant_context(clinic_a.clinic):
        assert [item.drug_name for item in rx.items.all()] == ["Paracetamol"]
    # Reopening resumes the same draft with what was saved; a second save does not open another visit.
    page = client.get(f"/consult/{patient.pk}").content.decode()
    assert "Congested pharynx" in page and "J06.9" in page and 'value="Paracetamol"' in page
    assert f'name="visit" value="{visit.pk}"' in page
    client.post(f"/consult/{patient.pk}", screen(clinic_a, items=[ITEM], visit=str(visit.pk), pulse="88"))
    [again] = _visits(clinic_a, patient)
    assert again.pk == visit.pk and again.pulse == 88


def test_summary_shows_allergies_conditions_last_visit_and_last_prescription(clinic_a, client_for, clock):
    patient = make_patient(clinic_a, chronic_conditions="Type 2 diabetes since 2019")
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        allergies.allergy_record(
            patient=patient, actor=doctor, allergen="Sulfa drugs", reaction="Rash", severity="moderate"
        )
        old = clinical.visit_create(
            patient=patient, actor=doctor, location=clinic_a.locations[0], chief_complaint="Review",
            diagnoses=[{"text": "Type 2 diabetes mellitus", "icd10": "E11.9"}],
        )  # fmt: skip
        clinical.visit_sign(visit=old, actor=doctor)
        rx = clinical.prescription_create(patient=patient, actor=doctor, visit=old, items=[ITEM])
        clinical.prescription_sign(prescription=rx, actor=doctor)
    page = client_for(clinic_a, "doctor").get(f"/consult/{patient.pk}").content.decode()
    assert "Sulfa drugs (moderate: Rash)" in page
    assert "Type 2 diabetes since 2019" in page
    assert "Type 2 diabetes mellitus" in page and "E11.9" in page
    assert f"/consult/{patient.pk}?repeat={rx.pk}" in page
    repeated = client_for(clinic_a, "doctor").get(f"/consult/{patient.pk}?repeat={rx.pk}").content.decode()
    assert 'value="Paracetamol"' in repeated


def test_sign_signs_visit_and_prescription_together(clinic_a, client_for, clock):
    signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    response = client.post(f"/consult/{patient.pk}", screen(clinic_a, items=[ITEM], action="sign"))
    [visit] = _visits(clinic_a, patient)
    assert response.status_code == 302 and response["Location"] == f"/visits/{visit.pk}/"
    assert visit.status == "signed"
    assert _prescription(clinic_a, visit).status == "signed"


def test_a_visit_without_medicines_is_signed_alone(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    assert client.post(f"/consult/{patient.pk}", screen(clinic_a, action="sign")).status_code == 302
    [visit] = _visits(clinic_a, patient)
    assert visit.status == "signed" and _prescription(clinic_a, visit) is None


def test_an_allergy_finding_blocks_signing_until_a_reason_is_given(clinic_a, client_for, clock):
    doctor = signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        allergies.allergy_record(
            patient=patient, actor=doctor, allergen="Penicillin", reaction="Hives", severity="severe"
        )
    client = client_for(clinic_a, "doctor")
    refused = client.post(f"/consult/{patient.pk}", screen(clinic_a, items=[AMOXICILLIN], action="sign"))
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Reason to sign anyway" in body and "Penicillin" in body
    [visit] = _visits(clinic_a, patient)
    rx = _prescription(clinic_a, visit)
    # Nothing signed, the draft kept.
    assert visit.status == "draft" and rx.status == "draft"
    with tenant_context(clinic_a.clinic):
        [finding] = [f for f in clinical.prescription_safety_findings(rx) if f.kind == "allergy"]
    reason = "Tolerated a full amoxicillin course in 2024 without reaction."
    signed = client.post(
        f"/consult/{patient.pk}",
        screen(
            clinic_a, items=[AMOXICILLIN], action="sign", visit=str(visit.pk), **{f"override_{finding.code}": reason}
        ),
    )
    assert signed.status_code == 302
    with tenant_context(clinic_a.clinic):
        rx.refresh_from_db()
        visit.refresh_from_db()
        assert rx.status == "signed" and visit.status == "signed"
        assert rx.safety_overrides.get().reason == reason


def test_an_incomplete_prescription_line_is_reported_per_line(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    lacking = {**ITEM, "drug_name": "Dolo 650", "dose": "", "duration": ""}
    response = client.post(f"/consult/{patient.pk}", screen(clinic_a, items=[ITEM, lacking]))
    assert response.status_code == 400
    rows = response.context["items"].forms
    assert not rows[0].errors
    assert set(rows[1].errors) == {"dose", "duration"}
    assert "Enter the dose" in response.content.decode()
    assert _visits(clinic_a, patient) == []  # all or nothing: no half-saved visit


def test_front_desk_cannot_open_the_consultation(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "front_desk")
    assert client.get(f"/consult/{patient.pk}").status_code == 403
    assert client.post(f"/consult/{patient.pk}", screen(clinic_a)).status_code == 403


def test_a_one_branch_doctor_cannot_open_another_branchs_patient(clinic_a, clinic_b, client_for):
    elsewhere = make_patient(clinic_a, registered_location=clinic_a.locations[1])
    restrict(clinic_a, "doctor", 0)
    client = client_for(clinic_a, "doctor")
    missing = client.get("/consult/00000000-0000-4000-8000-000000000000")
    assert client.get(f"/consult/{elsewhere.pk}").status_code == missing.status_code == 404
    assert client.post(f"/consult/{elsewhere.pk}", screen(clinic_a)).status_code == 404
    other_clinic = make_patient(clinic_b)
    assert client.get(f"/consult/{other_clinic.pk}").status_code == 404
