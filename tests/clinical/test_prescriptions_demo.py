"""The demo seed writes signed visits and verifiable prescriptions (some in Hindi) once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from clinical import demo as demo_clinical
from clinical import drug_reference
from clinical import services as clinical
from clinical.models import FavouriteMedicine, Prescription, PrescriptionTemplate, Visit
from tests.clinical.clinical_helpers import HINDI, make_patient, pdf_text, signing_doctor

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def test_demo_seed_makes_signed_visits_and_prescriptions_once(clinic_a):
    for index in range(5):
        make_patient(clinic_a, given_name=f"Demo{index}")
    doctor = signing_doctor(clinic_a)

    assert demo_clinical.seed(clinic_a.clinic) == len(demo_clinical.SCENARIOS)

    with tenant_context(clinic_a.clinic):
        assert Visit.objects.filter(status="signed").count() == len(demo_clinical.SCENARIOS)
        assert Visit.objects.filter(status="draft").count() == 1
        assert Prescription.objects.filter(status="signed").count() == len(demo_clinical.SCENARIOS)
        revised = Prescription.objects.get(version=2)
        assert revised.status == "signed" and revised.previous.status == "superseded"
        # Drug names are encrypted: found in Python, not by a SQL filter.
        (fever,) = [rx for rx in Prescription.objects.all() if "Dolo 650" in [i.drug_name for i in rx.items.all()]]
        text = pdf_text(clinical.prescription_pdf_read(prescription=fever, actor=doctor))
        # a brand prints with its generic composition under it
        assert HINDI in text and "Dolo 650 Tablet" in text and "Paracetamol 650 mg" in text
        assert Visit.objects.get(status="draft").diagnoses == [
            {"text": "Acute upper respiratory infection", "icd10": "J06.9"}
        ]
    assert demo_clinical.seed(clinic_a.clinic) == 0


def test_demo_seed_skips_without_a_registered_doctor(clinic_a):
    make_patient(clinic_a)
    assert demo_clinical.seed(clinic_a.clinic) == 0


def test_demo_seed_doses_a_childs_fever_syrup_by_weight(clinic_a):
    for index in range(5):
        make_patient(clinic_a, given_name=f"Demo{index}")
    child = make_patient(clinic_a, given_name="Aarav", date_of_birth=timezone.localdate() - dt.timedelta(days=7 * 365))
    signing_doctor(clinic_a)
    assert demo_clinical.seed(clinic_a.clinic) == len(demo_clinical.SCENARIOS) + 1
    with tenant_context(clinic_a.clinic):
        (item,) = Prescription.objects.get(patient=child).items.all()
        assert (item.drug_name, item.strength, item.dose) == ("Calpol 250", "250 mg/5 mL", "6.5 mL")
        assert "15 mg/kg/dose x 22 kg" in item.instructions
        by_weight = PrescriptionTemplate.objects.get(name="Fever child by weight")
        assert by_weight.items[0]["drug_name"] == "Calpol 250" and by_weight.items[0]["dose"] == ""
        assert PrescriptionTemplate.objects.filter(name="Viral fever adult").exists()


def test_demo_doctors_get_their_favourite_medicines_once(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = clinic_a.users["doctor"]
        User.objects.filter(pk=doctor.pk).update(email="doctor@demo.docos.in")
    demo_clinical.seed(clinic_a.clinic)
    demo_clinical.seed(clinic_a.clinic)
    with tenant_context(clinic_a.clinic):
        names = list(FavouriteMedicine.objects.filter(owner=doctor).values_list("name", flat=True))
        assert sorted(names) == sorted(
            drug_reference.brand_named(name).name for name in demo_clinical.DEMO_FAVOURITES["doctor@demo.docos.in"]
        )
        assert FavouriteMedicine.objects.exclude(owner=doctor).count() == 0  # nobody else's
