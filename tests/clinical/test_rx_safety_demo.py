"""The demo clinic shows prescription safety: a penicillin-allergic patient with a draft that warns."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinical import demo as demo_clinical
from clinical import services as clinical
from clinical.models import PatientAllergy, Prescription
from tests.clinical.clinical_helpers import make_patient, signing_doctor

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def test_demo_seeds_a_penicillin_allergy_and_a_draft_that_warns_once(clinic_a):
    patient = make_patient(clinic_a, given_name="Mohammed", family_name="Rafiq", allergies="Penicillin — rash")
    signing_doctor(clinic_a)
    demo_clinical.seed(clinic_a.clinic)
    demo_clinical.seed(clinic_a.clinic)
    with tenant_context(clinic_a.clinic):
        (allergy,) = PatientAllergy.objects.filter(patient=patient)
        assert allergy.allergen_class == "penicillins" and allergy.severity == "moderate"
        (draft,) = Prescription.objects.filter(patient=patient, status="draft")
        findings = clinical.prescription_safety_findings(draft)
        assert [f.code for f in findings] == ["allergy:penicillins"]
        assert clinical.prescription_incomplete_lines(draft) == {}
