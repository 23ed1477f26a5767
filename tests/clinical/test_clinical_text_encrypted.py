"""Clinical text of visits, addenda and prescriptions is stored encrypted with the clinic's data key,
bound to its row: the raw column never holds the words, and a value copied to another row fails."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from clinical import services as clinical
from clinical.models import Prescription, PrescriptionItem, Visit, VisitAddendum
from tests.clinical.clinical_helpers import ITEM, draft_prescription, draft_visit, make_patient, signing_doctor
from tests.docos.crypto_helpers import assert_clinic_encrypted, assert_copies_fail

VISIT_TEXT = {
    "chief_complaint": "Crushing chest pain since dawn",
    "procedures_performed": "Twelve-lead ECG recorded",
    "advice": "Avoid exertion until review",
}
DIAGNOSES = [{"text": "Unstable angina", "icd10": "I20.0"}]
ITEM_TEXT = {
    "drug_name": "Clopidogrel",
    "strength": "75 mg",
    "dose": "1 tablet",
    "frequency": "0-0-1",
    "duration": "30 days",
    "instructions": "Report any black stools",
    "instructions_hi": "काले मल होने पर बताएँ",
}


def test_visit_text_and_diagnoses_are_stored_encrypted_and_read_back(clinic_a):
    patient = make_patient(clinic_a)
    visit = draft_visit(clinic_a, patient, diagnoses=DIAGNOSES, notes={"history": "Smoker, 20 a day"}, **VISIT_TEXT)
    assert_clinic_encrypted(
        clinic_a.schema,
        "clinical_visit",
        visit.pk,
        {
            **{name: [text] for name, text in VISIT_TEXT.items()},
            "diagnoses": ["Unstable angina", "I20.0", "icd10"],
            "notes": ["Smoker", "history"],
        },
    )
    with tenant_context(clinic_a.clinic):
        stored = Visit.objects.get(pk=visit.pk)
        assert {name: getattr(stored, name) for name in VISIT_TEXT} == VISIT_TEXT
        assert stored.diagnoses == DIAGNOSES and stored.notes == {"history": "Smoker, 20 a day"}


def test_visit_text_copied_to_another_visit_fails_to_decrypt(clinic_a):
    patient = make_patient(clinic_a)
    source = draft_visit(clinic_a, patient, diagnoses=DIAGNOSES, **VISIT_TEXT)
    target = draft_visit(clinic_a, patient, chief_complaint="Cough")
    columns = [*VISIT_TEXT, "diagnoses", "notes"]
    assert_copies_fail(clinic_a, Visit, "clinical_visit", columns, source.pk, target.pk)


def test_empty_visit_text_is_encrypted_too_and_reads_as_empty(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a), chief_complaint="", diagnoses=[], notes={})
    assert_clinic_encrypted(clinic_a.schema, "clinical_visit", visit.pk, {"chief_complaint": [], "diagnoses": []})
    with tenant_context(clinic_a.clinic):
        stored = Visit.objects.get(pk=visit.pk)
        assert (stored.chief_complaint, stored.advice, stored.diagnoses, stored.notes) == ("", "", [], None)


def test_addendum_is_stored_encrypted_and_bound_to_its_row(clinic_a):
    patient = make_patient(clinic_a)
    doctor = signing_doctor(clinic_a)
    visits = [draft_visit(clinic_a, patient) for _ in range(2)]
    with tenant_context(clinic_a.clinic):
        addenda = []
        for visit in visits:
            clinical.visit_sign(visit=visit, actor=doctor)
            addenda.append(clinical.visit_addendum_add(visit=visit, actor=doctor, text="Troponin came back raised"))
    assert_clinic_encrypted(clinic_a.schema, "clinical_visitaddendum", addenda[0].pk, {"text": ["Troponin"]})
    assert_copies_fail(clinic_a, VisitAddendum, "clinical_visitaddendum", ["text"], addenda[0].pk, addenda[1].pk)


def test_prescription_advice_and_lines_are_stored_encrypted_and_read_back(clinic_a):
    patient = make_patient(clinic_a)
    prescription = draft_prescription(
        clinic_a,
        patient,
        items=[{**ITEM, **ITEM_TEXT}],
        general_advice="No heavy lifting for six weeks",
        general_advice_hi="छह हफ़्ते भारी सामान न उठाएँ",
    )
    assert_clinic_encrypted(
        clinic_a.schema,
        "clinical_prescription",
        prescription.pk,
        {"general_advice": ["heavy lifting"], "general_advice_hi": ["भारी"]},
    )
    with tenant_context(clinic_a.clinic):
        item = PrescriptionItem.objects.get(prescription=prescription)
        assert {name: getattr(item, name) for name in ITEM_TEXT} == ITEM_TEXT
        assert (item.form, item.route) == (ITEM["form"], ITEM["route"])  # plain columns
        stored = Prescription.objects.get(pk=prescription.pk)
        assert stored.general_advice == "No heavy lifting for six weeks"
    assert_clinic_encrypted(
        clinic_a.schema, "clinical_prescriptionitem", item.pk, {name: [text] for name, text in ITEM_TEXT.items()}
    )


def test_prescription_text_copied_to_another_prescription_fails_to_decrypt(clinic_a):
    patient = make_patient(clinic_a)
    first = draft_prescription(
        clinic_a, patient, items=[{**ITEM, **ITEM_TEXT}], general_advice="Rest", general_advice_hi="आराम"
    )
    second = draft_prescription(clinic_a, patient, general_advice="Fluids")
    with tenant_context(clinic_a.clinic):
        source, target = (PrescriptionItem.objects.get(prescription=rx).pk for rx in (first, second))
    assert_copies_fail(
        clinic_a, Prescription, "clinical_prescription", ["general_advice", "general_advice_hi"], first.pk, second.pk
    )
    assert_copies_fail(clinic_a, PrescriptionItem, "clinical_prescriptionitem", list(ITEM_TEXT), source, target)
