"""Prescription safety in the services and pages: complete lines only (per-line messages), SOS / As
directed only when chosen, allergy findings that block signing until overridden with a reason (stored,
audited, never printed), cross-reactivity, duplicates, interactions; recorded allergies on the chart."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical import allergies
from clinical import services as clinical
from clinical.models import PatientAllergy, Prescription, PrescriptionItem, PrescriptionSafetyOverride
from tests.clinical.clinical_helpers import (
    ITEM,
    draft_prescription,
    make_patient,
    pdf_text,
    restrict,
    signing_doctor,
)

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)

AMOXICILLIN = {**ITEM, "drug_name": "Amoxicillin", "strength": "500 mg", "form": "Capsule", "dose": "1 cap"}
REASON = "Tolerated a full amoxicillin course in 2024 without reaction; rash in 2019 was viral."


def _penicillin_patient(seeded, **fields):
    patient = make_patient(seeded, **fields)
    with tenant_context(seeded.clinic):
        allergies.allergy_record(
            patient=patient, actor=signing_doctor(seeded), allergen="Penicillin", reaction="Hives", severity="severe"
        )
    return patient


def _sign(seeded, prescription, overrides=None):
    with tenant_context(seeded.clinic):
        return clinical.prescription_sign(prescription=prescription, actor=signing_doctor(seeded), overrides=overrides)


# --- complete lines ----------------------------------------------------------------------------------


def test_a_bare_amox_line_is_refused_with_what_each_field_lacks(clinic_a):
    with pytest.raises(ValidationError) as caught:
        draft_prescription(clinic_a, make_patient(clinic_a), items=[ITEM, {"drug_name": "amox"}])
    errors = caught.value.message_dict
    assert set(errors) == {"items.1.drug_name", "items.1.dose", "items.1.frequency", "items.1.duration"}
    assert "not a medicine in the formulary" in errors["items.1.drug_name"][0]
    assert "SOS" in errors["items.1.frequency"][0]


def test_a_free_text_medicine_needs_the_explicit_tick(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        draft_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Kadha herbal syrup"}])
    assert list(caught.value.message_dict) == ["items.0.drug_name"]
    rx = draft_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Kadha herbal syrup", "free_text": True}])
    with tenant_context(clinic_a.clinic):
        assert rx.items.get().free_text is True


@pytest.mark.parametrize("frequency, stored", [("SOS", "SOS"), ("as directed", "AS DIRECTED"), ("1-0-1", "1-0-1")])
def test_sos_and_as_directed_are_accepted_when_chosen(clinic_a, frequency, stored):
    rx = draft_prescription(clinic_a, make_patient(clinic_a), items=[{**ITEM, "frequency": frequency}])
    with tenant_context(clinic_a.clinic):
        assert rx.items.get().frequency == stored


def test_a_blank_frequency_is_never_taken_as_sos(clinic_a):
    with pytest.raises(ValidationError) as caught:
        draft_prescription(clinic_a, make_patient(clinic_a), items=[{**ITEM, "frequency": "  "}])
    assert list(caught.value.message_dict) == ["items.0.frequency"]


def test_an_incomplete_draft_from_before_cannot_be_signed(clinic_a):
    rx = draft_prescription(clinic_a, make_patient(clinic_a))
    with tenant_context(clinic_a.clinic):
        item = PrescriptionItem.objects.get(prescription=rx)
        item.dose, item.duration = "", ""  # as a draft saved before the rule may be
        item.save()
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, rx)
    assert set(caught.value.message_dict) == {"items.0.dose", "items.0.duration"}
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=rx.pk).status == "draft"


# --- allergy, overrides ------------------------------------------------------------------------------


def test_amoxicillin_for_a_penicillin_allergy_blocks_signing(clinic_a):
    rx = draft_prescription(clinic_a, _penicillin_patient(clinic_a), items=[AMOXICILLIN])
    with pytest.raises(clinical.SafetyFindingsUnresolved) as caught:
        _sign(clinic_a, rx)
    assert [f.code for f in caught.value.findings] == ["allergy:penicillins"]
    assert list(caught.value.message_dict) == ["overrides.allergy:penicillins"]
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=rx.pk).status == "draft"
        assert not PrescriptionSafetyOverride.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "ok"])
def test_an_override_without_a_real_reason_is_refused(clinic_a, reason):
    rx = draft_prescription(clinic_a, _penicillin_patient(clinic_a), items=[AMOXICILLIN])
    with pytest.raises(clinical.SafetyFindingsUnresolved):
        _sign(clinic_a, rx, overrides={"allergy:penicillins": reason})
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=rx.pk).status == "draft"


def test_an_override_with_a_reason_signs_stores_and_audits_it_but_never_prints_it(clinic_a):
    rx = draft_prescription(clinic_a, _penicillin_patient(clinic_a), items=[AMOXICILLIN])
    _sign(clinic_a, rx, overrides={"allergy:penicillins": REASON})
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        signed = Prescription.objects.get(pk=rx.pk)
        assert signed.status == "signed"
        override = PrescriptionSafetyOverride.objects.get(prescription=rx)
        assert (override.code, override.kind, override.reason) == ("allergy:penicillins", "allergy", REASON)
        assert override.overridden_by_id == doctor.pk and "Hives" in override.finding
        event = AuditEvent.objects.get(action="prescription.safety_override", object_id=str(rx.pk))
        assert event.metadata == {"override": str(override.pk), "kind": "allergy", "severity": "severe"}
        assert REASON not in str(event.metadata) and "penicillin" not in str(event.metadata).lower()
        assert (
            AuditEvent.objects.get(action="prescription.sign", object_id=str(rx.pk)).metadata["safety_overrides"] == 1
        )
        text = pdf_text(clinical.prescription_pdf_read(prescription=signed, actor=doctor))
    assert "Amoxicillin" in text
    assert "2024" not in text and "viral" not in text and "Tolerated" not in text and "Hives" not in text


def test_an_override_for_a_warning_that_does_not_apply_is_refused(clinic_a):
    rx = draft_prescription(clinic_a, make_patient(clinic_a))
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, rx, overrides={"allergy:penicillins": REASON})
    assert list(caught.value.message_dict) == ["overrides.allergy:penicillins"]


def test_the_free_text_allergy_field_is_checked_too(clinic_a):
    patient = make_patient(clinic_a, allergies="Sulpha drugs — rash")
    rx = draft_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Septran DS", "strength": ""}])
    with pytest.raises(clinical.SafetyFindingsUnresolved) as caught:
        _sign(clinic_a, rx)
    assert [f.code for f in caught.value.findings] == ["allergy:sulfonamides"]


def test_a_resolved_allergy_is_no_longer_checked(clinic_a):
    patient = _penicillin_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        allergy = PatientAllergy.objects.get(patient=patient)
        allergies.allergy_resolve(allergy=allergy, actor=signing_doctor(clinic_a))
        assert AuditEvent.objects.filter(action="allergy.resolve", object_id=str(allergy.pk)).exists()
    rx = draft_prescription(clinic_a, patient, items=[AMOXICILLIN])
    assert _sign(clinic_a, rx).status == "signed"


def test_cephalosporin_for_a_penicillin_allergy_warns_with_the_cross_reactivity_note(clinic_a):
    cefuroxime = {**ITEM, "drug_name": "Cefuroxime", "strength": "500 mg"}
    rx = draft_prescription(clinic_a, _penicillin_patient(clinic_a), items=[cefuroxime])
    with pytest.raises(clinical.SafetyFindingsUnresolved) as caught:
        _sign(clinic_a, rx)
    (finding,) = caught.value.findings
    assert finding.code == "cross_reactivity:penicillins:cephalosporins" and "side chain" in finding.note


def test_the_same_molecule_twice_and_an_interaction_each_need_a_reason(clinic_a):
    items = [
        {**ITEM, "drug_name": "Warfarin", "strength": "5 mg"},
        {**ITEM, "drug_name": "Brufen", "strength": "400 mg"},
        {**ITEM, "drug_name": "Combiflam", "strength": ""},
    ]
    rx = draft_prescription(clinic_a, make_patient(clinic_a), items=items)
    with pytest.raises(clinical.SafetyFindingsUnresolved) as caught:
        _sign(clinic_a, rx)
    codes = [f.code for f in caught.value.findings]
    assert codes == ["duplicate:ibuprofen", "interaction:warfarin-nsaid"]
    with pytest.raises(clinical.SafetyFindingsUnresolved) as caught:
        _sign(clinic_a, rx, overrides={"interaction:warfarin-nsaid": "INR monitored weekly by the cardiology clinic"})
    assert list(caught.value.message_dict) == ["overrides.duplicate:ibuprofen"]
    overrides = {code: "Checked with the patient's cardiologist today." for code in codes}
    assert _sign(clinic_a, rx, overrides=overrides).status == "signed"
    with tenant_context(clinic_a.clinic):
        assert PrescriptionSafetyOverride.objects.filter(prescription=rx).count() == 2


# --- pages -------------------------------------------------------------------------------------------


def _form_data(seeded, rows):
    data = {
        "location": str(seeded.locations[0].pk),
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"items-{index}-{key}"] = value
    return data


def test_the_form_names_what_each_line_lacks_and_saves_nothing(clinic_a, client_for):
    patient = make_patient(clinic_a)
    page = client_for(clinic_a, "doctor").post(
        f"/patients/{patient.pk}/prescriptions/new", _form_data(clinic_a, [ITEM, {"drug_name": "amox"}])
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "is not a medicine in the formulary" in html and "Enter the dose" in html
    assert "Enter for how long" in html and "choose SOS, or As directed" in html
    assert 'list="rx-frequencies"' in html and "js/rx_lines.js" in html
    with tenant_context(clinic_a.clinic):
        assert not Prescription.objects.filter(patient=patient).exists()


def test_the_page_shows_the_warning_and_signs_only_with_a_reason(clinic_a, client_for):
    signing_doctor(clinic_a)
    rx = draft_prescription(clinic_a, _penicillin_patient(clinic_a), items=[AMOXICILLIN])
    client = client_for(clinic_a, "doctor")
    page = client.get(f"/prescriptions/{rx.pk}/").content.decode()
    assert "Safety warnings" in page and "Allergy: penicillins" in page
    assert "Recorded allergies: Penicillin (severe: Hives)" in page
    assert 'name="override_allergy:penicillins"' in page and ">Sign prescription<" not in page

    refused = client.post(f"/prescriptions/{rx.pk}/sign", {"override_allergy:penicillins": ""})
    assert refused.status_code == 400 and "Give a reason to sign anyway" in refused.content.decode()

    signed = client.post(f"/prescriptions/{rx.pk}/sign", {"override_allergy:penicillins": REASON})
    assert signed.status_code == 302
    after = client.get(f"/prescriptions/{rx.pk}/").content.decode()
    assert "Warnings signed despite" in after and "Tolerated a full amoxicillin course" in after


def test_allergies_are_recorded_and_resolved_from_the_chart(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    assert "Record an allergy" in client.get(f"/patients/{patient.pk}/").content.decode()
    response = client.post(
        f"/patients/{patient.pk}/allergies", {"allergen": "Sulpha", "reaction": "Rash", "severity": "moderate"}
    )
    assert response.status_code == 302
    with tenant_context(clinic_a.clinic):
        allergy = PatientAllergy.objects.get(patient=patient)
        assert allergy.allergen_class == "sulfonamides" and allergy.noted_by_id == clinic_a.users["doctor"].pk
        assert AuditEvent.objects.filter(action="allergy.record", object_id=str(allergy.pk)).exists()
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Sulpha" in chart and "Sulfonamide antibiotics" in chart
    assert client.post(f"/allergies/{allergy.pk}/resolve").status_code == 302
    with tenant_context(clinic_a.clinic):
        allergy.refresh_from_db()
        assert allergy.status == "resolved" and allergy.resolved_by_id == clinic_a.users["doctor"].pk


def test_front_desk_cannot_record_allergies_and_other_branches_get_404(clinic_a, client_for):
    patient = _penicillin_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        allergy = PatientAllergy.objects.get(patient=patient)
    front = client_for(clinic_a, "front_desk")
    assert front.post(f"/patients/{patient.pk}/allergies", {"allergen": "Dust"}).status_code == 403
    assert front.post(f"/allergies/{allergy.pk}/resolve").status_code == 403
    restrict(clinic_a, "doctor", 1)  # the patient is registered at location 0
    doctor = client_for(clinic_a, "doctor")
    assert doctor.post(f"/patients/{patient.pk}/allergies", {"allergen": "Dust"}).status_code == 404
    assert doctor.post(f"/allergies/{allergy.pk}/resolve").status_code == 404
