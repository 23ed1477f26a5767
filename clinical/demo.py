"""Demo clinical records for the demo clinic: signed visits with WHO ICD-10 diagnoses and signed
prescriptions of common Indian brands from the reference formulary (Dolo 650, Amaryl 1, Amlong 5,
Pan 40; some with Hindi instructions, one revised into a second version), a child's fever visit with
paracetamol syrup dosed by weight, the doctor's templates "Viral fever adult" and "Fever child by
weight", each demo doctor's favourite medicines, plus one draft visit for today.

`seed(clinic)` is called by patients/demo.py after it has registered the demo patients, inside
the demo clinic's schema. Everything goes through the services, so the records are audited and
the prescriptions have real, verifiable PDFs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, User
from clinical import dosing, drug_reference, favourites, rx_templates
from clinical import services as clinical
from clinical.allergies import allergy_record
from clinical.models import PatientAllergy, Prescription
from clinics.models import Clinic
from patients.models import Patient

SCENARIOS: list[dict[str, Any]] = [
    {
        "days_ago": 12,
        "visit": {
            "chief_complaint": "Fever and body ache for 3 days",
            "temperature_c": Decimal("38.6"),
            "pulse": 98,
            "bp_systolic": 118,
            "bp_diastolic": 76,
            "spo2": 98,
            "weight_kg": Decimal("64.0"),
            "height_cm": Decimal("162.0"),
            "advice": "Plenty of oral fluids and rest.",
        },
        "notes": {
            "history": "High-grade fever with chills since 3 days, generalised body ache. No cough, no rash.",
            "examination": "Febrile, mild pharyngeal congestion. Chest clear.",
            "assessment": "Acute febrile illness, likely viral.",
            "plan": "Symptomatic treatment. CBC and dengue NS1 if fever persists beyond 5 days.",
        },
        "diagnoses": [{"text": "Viral fever", "icd10": "B34.9"}],
        "prescription": {
            "print_hindi": True,
            "general_advice": "Drink at least 3 litres of water a day. "
            "Return at once if you notice bleeding or drowsiness.",
            "general_advice_hi": "दिन में कम से कम 3 लीटर पानी पिएँ। खून आने या ज़्यादा नींद आने पर तुरंत आएँ।",
            "items": [
                {
                    "drug_name": "Dolo 650",
                    "strength": "650 mg",
                    "form": "Tablet",
                    "dose": "1 tab",
                    "frequency": "1-1-1",
                    "route": "Oral",
                    "duration": "5 days",
                    "food_relation": "after",
                    "instructions": "Only while the fever lasts",
                    "instructions_hi": "खाना खाने के बाद, सिर्फ़ बुखार रहने तक",
                },
                {
                    "drug_name": "Electral",
                    "strength": "21.8 g/L",
                    "form": "Powder for oral solution",
                    "dose": "1 sachet in 1 litre water",
                    "frequency": "SOS",
                    "route": "Oral",
                    "duration": "5 days",
                    "instructions_hi": "एक पैकेट एक लीटर पानी में घोलकर",
                },
            ],
        },
    },
    {
        "days_ago": 9,
        "visit": {
            "chief_complaint": "Diabetes follow-up",
            "bp_systolic": 134,
            "bp_diastolic": 86,
            "pulse": 80,
            "weight_kg": Decimal("82.5"),
            "height_cm": Decimal("170.0"),
            "advice": "Walk 30 minutes daily; avoid sweets and fruit juices.",
        },
        "notes": {
            "subjective": "No hypoglycaemia. Occasional tingling in feet.",
            "objective": "FBS 148 mg/dL, HbA1c 7.8%. Monofilament sensation intact.",
            "assessment": "Type 2 diabetes, suboptimal control.",
            "plan": "Add glimepiride. Repeat HbA1c in 3 months.",
        },
        "diagnoses": [{"text": "Type 2 diabetes mellitus without complications", "icd10": "E11.9"}],
        "prescription": {
            "print_hindi": True,
            "general_advice": "Check fasting sugar every week and bring the readings.",
            "general_advice_hi": "हर हफ़्ते खाली पेट शुगर जाँचें और रीडिंग साथ लाएँ।",
            "follow_up_days": 90,
            "items": [
                {
                    "drug_name": "Metformin",
                    "strength": "500 mg",
                    "form": "Tablet",
                    "dose": "1 tab",
                    "frequency": "1-0-1",
                    "route": "Oral",
                    "duration": "90 days",
                    "food_relation": "after",
                    "instructions_hi": "खाना खाने के बाद",
                },
                {
                    "drug_name": "Amaryl 1",
                    "strength": "1 mg",
                    "form": "Tablet",
                    "dose": "1 tab",
                    "frequency": "1-0-0",
                    "route": "Oral",
                    "duration": "90 days",
                    "food_relation": "before",
                    "instructions": "15 minutes before breakfast",
                    "instructions_hi": "नाश्ते से 15 मिनट पहले",
                },
            ],
        },
        "revise": {"dose": "1 tab", "drug_name": "Metformin", "strength": "1000 mg"},
    },
    {
        "days_ago": 5,
        "visit": {
            "chief_complaint": "Headache, high BP reading at home",
            "bp_systolic": 156,
            "bp_diastolic": 98,
            "pulse": 84,
            "weight_kg": Decimal("76.0"),
            "height_cm": Decimal("168.0"),
            "advice": "Low-salt diet, home BP log twice a day.",
        },
        "notes": {
            "history": "Occipital headache for a week. Home BP readings 150-160/95-100.",
            "examination": "BP 156/98 both arms. Fundus normal.",
            "assessment": "Stage 2 hypertension, newly diagnosed.",
            "plan": "Start amlodipine; lipid profile, creatinine, ECG.",
        },
        "diagnoses": [{"text": "Essential hypertension", "icd10": "I10"}],
        "prescription": {
            "print_hindi": True,
            "general_advice": "Less salt, no pickles or papad. Keep a BP diary.",
            "general_advice_hi": "नमक कम खाएँ, अचार और पापड़ न लें। BP की डायरी रखें।",
            "follow_up_days": 14,
            "items": [
                {
                    "drug_name": "Amlong 5",
                    "strength": "5 mg",
                    "form": "Tablet",
                    "dose": "1 tab",
                    "frequency": "1-0-0",
                    "route": "Oral",
                    "duration": "30 days",
                    "instructions": "Every morning, do not stop on your own",
                    "instructions_hi": "रोज़ सुबह एक गोली, अपने आप बंद न करें",
                }
            ],
        },
    },
    {
        "days_ago": 2,
        "visit": {
            "chief_complaint": "Burning in the upper abdomen after meals",
            "bp_systolic": 122,
            "bp_diastolic": 80,
            "pulse": 76,
            "weight_kg": Decimal("58.0"),
            "height_cm": Decimal("155.0"),
            "advice": "Small frequent meals; avoid tea on an empty stomach.",
        },
        "notes": {
            "subjective": "Epigastric burning for 2 weeks, worse at night. No vomiting, no black stools.",
            "objective": "Mild epigastric tenderness.",
            "assessment": "Acute gastritis.",
            "plan": "PPI for 2 weeks. Endoscopy if no relief.",
        },
        "diagnoses": [{"text": "Acute gastritis", "icd10": "K29.1"}],
        "prescription": {
            "print_hindi": False,
            "general_advice": "Avoid spicy and oily food, tea and coffee for two weeks.",
            "items": [
                {
                    "drug_name": "Pan 40",
                    "strength": "40 mg",
                    "form": "Tablet",
                    "dose": "1 tab",
                    "frequency": "1-0-0",
                    "route": "Oral",
                    "duration": "14 days",
                    "food_relation": "empty",
                    "instructions": "30 minutes before breakfast",
                }
            ],
        },
    },
]


def _prescriber() -> User | None:
    """A signing doctor of the clinic: prefers the `doctor` role, then anyone who may sign."""
    candidates = User.objects.filter(is_active=True).exclude(registration_number="")
    doctor = candidates.filter(role__slug="doctor").order_by("email").first()
    return doctor or candidates.filter(role__capabilities__contains=["prescriptions.sign"]).order_by("email").first()


def _location(patient: Patient) -> Location:
    if patient.registered_location.is_active:
        return patient.registered_location
    fallback = Location.objects.filter(is_active=True).order_by("name").first()
    if fallback is None:
        raise RuntimeError("The clinic has no active location")
    return fallback


def _seed_records() -> int:
    if Prescription.objects.exists():  # seeded already (other apps' demos may add visits of their own)
        return 0
    doctor = _prescriber()
    if doctor is None or not doctor.has_capability("clinical.sign"):
        return 0
    patients = list(
        Patient.objects.filter(is_active=True, merged_into__isnull=True)
        .filter(~Q(given_name=""))
        .order_by("created_at", "mrn")[: len(SCENARIOS) + 1]
    )
    now = timezone.now()
    made = 0
    for patient, scenario in zip(patients, SCENARIOS, strict=False):
        visit_at = (now - dt.timedelta(days=scenario["days_ago"])).replace(minute=15, second=0, microsecond=0)
        location = _location(patient)
        rx_spec = dict(scenario["prescription"])
        follow_up_days = rx_spec.pop("follow_up_days", 7)
        visit = clinical.visit_create(
            patient=patient,
            actor=doctor,
            location=location,
            notes=scenario["notes"],
            diagnoses=scenario["diagnoses"],
            visit_at=visit_at,
            follow_up_date=(visit_at + dt.timedelta(days=follow_up_days)).date(),
            **scenario["visit"],
        )
        clinical.visit_sign(visit=visit, actor=doctor)
        prescription = clinical.prescription_create(
            patient=patient,
            actor=doctor,
            visit=visit,
            location=location,
            follow_up_date=visit.follow_up_date,
            **rx_spec,
        )
        clinical.prescription_sign(prescription=prescription, actor=doctor)
        made += 1
        if made == 1:  # the doctor keeps the fever prescription as a template
            rx_templates.template_save_from_prescription(
                actor=doctor, prescription=prescription, name="Viral fever adult"
            )
        change = scenario.get("revise")
        if change:
            revision = clinical.prescription_revise(prescription=prescription, actor=doctor)
            items = [
                {**item, **change} if item["drug_name"] == change["drug_name"] else item for item in rx_spec["items"]
            ]
            clinical.prescription_update(prescription=revision, actor=doctor, items=items)
            clinical.prescription_sign(prescription=revision, actor=doctor)
    made += _seed_child_fever(doctor, exclude=[p.pk for p in patients], now=now)
    if len(patients) > len(SCENARIOS):
        today = patients[len(SCENARIOS)]
        clinical.visit_create(
            patient=today,
            actor=doctor,
            location=_location(today),
            chief_complaint="Cough and cold for 2 days",
            temperature_c=Decimal("37.4"),
            spo2=97,
            notes={"subjective": "Dry cough, running nose, no breathlessness."},
            diagnoses=[{"text": "Acute upper respiratory infection", "icd10": "J06.9"}],
        )
    return made


# Prescription safety: recorded allergies, and a draft that the allergy check stops at signing.
SAFETY_PATIENT = ("Mohammed", "Rafiq")
SAFETY_ALLERGIES = [
    {
        "allergen": "Penicillin",
        "reaction": "Itchy rash (urticaria) over the trunk within an hour of amoxicillin, 2019",
        "severity": "moderate",
    },
]
SAFETY_DRAFT_ITEMS = [
    {
        "drug_name": "Augmentin",
        "strength": "625 mg",
        "form": "Tablet",
        "dose": "1 tab",
        "frequency": "1-0-1",
        "route": "Oral",
        "duration": "7 days",
        "food_relation": "after",
    },
    {
        "drug_name": "Levocetirizine",
        "strength": "5 mg",
        "form": "Tablet",
        "dose": "1 tab",
        "frequency": "HS",
        "route": "Oral",
        "duration": "5 days",
    },
]


def _seed_safety() -> bool:
    """The penicillin-allergic demo patient and a draft with Augmentin (amoxicillin + clavulanic acid)
    for sinusitis: opening it shows the allergy warning and asks for a reason to sign anyway."""
    given, family = SAFETY_PATIENT
    patient = Patient.objects.filter(given_name=given, family_name=family, merged_into__isnull=True).first()
    doctor = _prescriber()
    if patient is None or doctor is None or PatientAllergy.objects.filter(patient=patient).exists():
        return False
    for allergy in SAFETY_ALLERGIES:
        allergy_record(
            patient=patient,
            actor=doctor,
            allergen=allergy["allergen"],
            reaction=allergy["reaction"],
            severity=allergy["severity"],
        )
    clinical.prescription_create(
        patient=patient,
        actor=doctor,
        location=_location(patient),
        items=SAFETY_DRAFT_ITEMS,
        general_advice="Steam inhalation twice a day. Saline nasal drops.",
    )
    return True


def _seed_child_fever(doctor: User, *, exclude: list[Any], now: dt.datetime) -> int:
    """A child's fever visit, weighed, with paracetamol syrup dosed by weight from the reference
    formulary (clinical.dosing); 0 if the clinic has no child patient aged 1-12."""
    today = timezone.localdate()
    child = (
        Patient.objects.filter(is_active=True, merged_into__isnull=True)
        .filter(date_of_birth__gt=today - dt.timedelta(days=13 * 365), date_of_birth__lt=today - dt.timedelta(days=365))
        .exclude(pk__in=exclude)
        .order_by("-date_of_birth")
        .first()
    )
    syrup = drug_reference.brand_named("Calpol 250")
    if child is None or syrup is None:
        return 0
    weight = Decimal("22.0")
    dose = dosing.child_dose(syrup, weight)
    assert dose is not None
    visit_at = (now - dt.timedelta(days=1)).replace(minute=40, second=0, microsecond=0)
    location = _location(child)
    visit = clinical.visit_create(
        patient=child,
        actor=doctor,
        location=location,
        visit_at=visit_at,
        chief_complaint="Fever and sore throat since yesterday",
        temperature_c=Decimal("38.7"),
        pulse=112,
        spo2=98,
        weight_kg=weight,
        notes={"examination": "Congested throat, no exudate. Chest clear. Active, well hydrated."},
        diagnoses=[{"text": "Acute upper respiratory infection", "icd10": "J06.9"}],
        follow_up_date=(visit_at + dt.timedelta(days=3)).date(),
    )
    clinical.visit_sign(visit=visit, actor=doctor)
    prescription = clinical.prescription_create(
        patient=child,
        actor=doctor,
        visit=visit,
        location=location,
        follow_up_date=visit.follow_up_date,
        general_advice="Warm fluids, rest. Come back if breathing is fast or the fever lasts beyond 3 days.",
        items=[
            {
                "drug_name": syrup.name,
                "strength": syrup.strength,
                "form": syrup.form,
                "dose": dose.dose,
                "frequency": "SOS",
                "route": "Oral",
                "duration": "3 days",
                "instructions": f"Only for fever above 100°F, at least 6 hours apart ({dose.explanation})",
            }
        ],
    )
    clinical.prescription_sign(prescription=prescription, actor=doctor)
    rx_templates.template_save_from_prescription(
        actor=doctor, prescription=prescription, name="Fever child by weight", dose_by_weight=True
    )
    return 1


# Each demo doctor's starred medicines (brands of the reference formulary), offered first in their search.
DEMO_FAVOURITES = {
    "doctor@demo.docos.in": ["Dolo 650", "Pan 40", "Augmentin 625 Duo", "Azithral 500", "Montair LC", "Amlong 5"],
    "indiranagar@demo.docos.in": ["Calpol 250", "Crocin Drops", "Azithral 200 Liquid", "Meftal P", "Electral"],
}


def _seed_favourites() -> int:
    made = 0
    for email, brands in DEMO_FAVOURITES.items():
        doctor = User.objects.filter(email=email, is_active=True).first()
        if doctor is None or not doctor.has_capability("prescriptions.write") or doctor.favourite_medicines.exists():
            continue
        for name in brands:
            product = drug_reference.brand_named(name)
            if product is not None:
                favourites.favourite_add(actor=doctor, key=product.key)
                made += 1
    return made


def seed(clinic: Clinic) -> int:
    """Seed the demo clinical records; returns the number of signed prescriptions made (0 if the
    clinic already has prescriptions, no patients, or no doctor with a registration number)."""
    with tenant_context(clinic):
        made = _seed_records()
        _seed_safety()
        _seed_favourites()
        return made
