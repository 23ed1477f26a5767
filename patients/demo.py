"""Demo patients for the demo clinic: ~40 people from across India living in Bengaluru.

`seed(clinic)` runs inside the demo clinic's schema (clinics/demo.py calls it once, when the clinic
is first created). Everyone is registered through the services, so MRNs, search keys, consent
records and audit events are real. Deterministic: the same clinic always gets the same patients.
Then the clinical demo (patients/demo_clinical.py, written separately) adds visits and prescriptions.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import phonenumbers
from django.utils import timezone

from accounts.models import Location, User
from clinics.models import Clinic
from patients.models import Patient
from patients.services import estimated_dob, patient_create, patient_record_whatsapp_opt_out

# (locality, PIN code) in Bengaluru.
LOCALITIES = [
    ("Koramangala 4th Block", "560034"),
    ("Indiranagar", "560038"),
    ("Jayanagar 9th Block", "560041"),
    ("HSR Layout Sector 2", "560102"),
    ("Whitefield", "560066"),
    ("Malleshwaram", "560003"),
    ("BTM Layout 2nd Stage", "560076"),
    ("Banashankari 3rd Stage", "560085"),
    ("Rajajinagar", "560010"),
    ("Hebbal", "560024"),
    ("Electronic City Phase 1", "560100"),
    ("Marathahalli", "560037"),
    ("JP Nagar 6th Phase", "560078"),
    ("Basavanagudi", "560004"),
    ("Yelahanka New Town", "560064"),
    ("Bellandur", "560103"),
]
STREETS = ["1st Main Road", "4th Cross", "80 Feet Road", "100 Feet Road", "17th Main", "Outer Ring Road", "7th Cross"]
BUILDINGS = ["Prestige Apartments", "Sobha Lakeview", "Brigade Residency", "Sai Krupa Nilaya", "Shanthi Nivas", ""]

# given, family, sex, age, blood group, allergies, chronic conditions, tags
PEOPLE: list[tuple[str, str, str, int, str, str, str, list[str]]] = [
    ("Ananya", "Iyer", "F", 34, "B+", "", "", []),
    ("Mohammed", "Rafiq", "M", 52, "O+", "Penicillin — rash", "Type 2 diabetes\nHypertension", ["diabetic"]),
    ("Lakshmi", "Narayanan", "F", 67, "A+", "", "Hypothyroidism\nOsteoarthritis of knees", ["senior"]),
    ("Srinivas", "Reddy", "M", 45, "B+", "", "Hypertension", []),
    ("Sunita", "Choudhary", "F", 38, "AB+", "Sulfa drugs", "", []),
    ("Venkatesh", "Rao", "M", 59, "O-", "", "Type 2 diabetes", ["diabetic"]),
    ("Poonam", "Sharma", "F", 29, "A-", "", "", ["antenatal"]),
    ("Rahul", "Aggarwal", "M", 31, "B+", "", "", []),
    ("Kavya", "Gowda", "F", 26, "O+", "Peanuts — hives", "Asthma", []),
    ("Harish", "Shetty", "M", 48, "A+", "", "", []),
    ("Fatima", "Sheikh", "F", 41, "B-", "", "Iron deficiency anaemia", []),
    ("Joseph", "Varghese", "M", 63, "O+", "Ibuprofen — gastritis", "Coronary artery disease", ["senior"]),
    ("Deepa", "Kulkarni", "F", 36, "B+", "", "", []),
    ("Arjun", "Banerjee", "M", 27, "AB-", "", "", []),
    ("Imran", "Khan", "M", 44, "O+", "", "Hyperlipidaemia", []),
    ("Gopal", "Krishnan", "M", 71, "A+", "Aspirin", "Type 2 diabetes\nChronic kidney disease stage 3", ["senior"]),
    ("Meena", "Pillai", "F", 55, "O+", "", "Hypertension", []),
    ("Shalini", "Mukherjee", "F", 33, "A+", "", "", []),
    ("Chaitra", "Hegde", "F", 24, "B+", "", "", []),
    ("Sanjay", "Gupta", "M", 50, "B+", "", "Gout", []),
    ("Ayesha", "Siddiqui", "F", 30, "O-", "Latex", "", []),
    ("Manoj", "Tiwari", "M", 39, "A-", "", "", []),
    ("Divya", "Subramanian", "F", 42, "O+", "", "PCOS", []),
    ("Karthik", "Iyengar", "M", 35, "B+", "", "", []),
    ("Swati", "Bhattacharya", "F", 47, "AB+", "", "Migraine", []),
    ("Priya", "Nair", "F", 28, "O+", "", "", []),
    ("Suresh", "Menon", "M", 66, "A+", "", "COPD", ["senior"]),
    ("Neha", "Agarwal", "F", 32, "B+", "", "", []),
    ("Rajesh", "Patel", "M", 57, "O+", "", "Type 2 diabetes", ["diabetic"]),
    ("Bhavana", "Joshi", "F", 22, "A+", "", "", []),
    ("Ravi", "Shankar", "M", 61, "B-", "Penicillin", "Benign prostatic hyperplasia", ["senior"]),
    ("Zainab", "Qureshi", "F", 37, "O+", "", "", []),
    ("Tenzin", "Dolma", "F", 29, "B+", "", "", []),
    ("Gurpreet", "Singh", "M", 46, "A+", "", "Hypertension", []),
    ("Anjali", "Deshpande", "F", 53, "AB+", "", "Rheumatoid arthritis", []),
    ("Vikram", "Chowdhury", "M", 40, "O+", "", "", []),
    ("Laxmi", "Devi", "F", 74, "", "", "Cataract (operated, right eye)", ["senior"]),
    ("Naveen", "Kumar", "M", 19, "B+", "", "", ["student"]),
    # For the search (issue 16): try "SK Reddy", "Vikash Behra", "Chandra Sekhar" or "Dr Bikash".
    ("Sunil Kumar", "Reddy", "M", 58, "O+", "", "Type 2 diabetes", ["diabetic"]),
    ("Bikash", "Behera", "M", 43, "B+", "", "", []),
    ("Chandrasekhar", "Pillai", "M", 69, "A+", "", "Hypertension", ["senior"]),
]
# Minors (patient contact goes to the guardian): given, family, sex, age, guardian, relation.
MINORS = [
    ("Aarav", "Sharma", "M", 7, "Poonam Sharma", "Mother"),
    ("Diya", "Reddy", "F", 12, "Srinivas Reddy", "Father"),
    ("Ishaan", "Menon", "M", 3, "Anita Menon", "Mother"),
]
EMERGENCY_NAMES = ["Ramesh", "Geeta", "Prakash", "Usha", "Anand", "Rekha", "Mahesh", "Sarita"]


def _mobile(rnd: random.Random) -> str:
    """A random number that is a valid Indian mobile number by the numbering plan."""
    while True:
        number = "+91" + rnd.choice("6789") + "".join(rnd.choice("0123456789") for _ in range(9))
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            return number


def _address(rnd: random.Random) -> tuple[str, str]:
    locality, pin = rnd.choice(LOCALITIES)
    building = rnd.choice(BUILDINGS)
    number = rnd.randint(1, 480)
    street = rnd.choice(STREETS)
    line = f"{'#' + str(number)}, {building + ', ' if building else ''}{street}, {locality}"
    return line, pin


def _actor() -> User | None:
    return (
        User.objects.filter(role__slug="front_desk", is_active=True).order_by("date_joined").first()
        or User.objects.filter(role__slug="owner", is_active=True).order_by("date_joined").first()
    )


def _common(rnd: random.Random, locations: list[Location]) -> dict[str, Any]:
    address, pin = _address(rnd)
    return {
        "address": address,
        "city": "Bengaluru",
        "state": "Karnataka",
        "pin_code": pin,
        "registered_location": locations[rnd.randrange(len(locations))],
    }


def seed_patients(*, rnd: random.Random | None = None) -> list[Patient]:
    """Register the demo patients in the current schema (skipped if the clinic already has patients)."""
    if Patient.objects.exists():
        return []
    rnd = rnd or random.Random(20260101)  # demo data, not secrets
    locations = list(Location.objects.filter(is_active=True).order_by("name"))
    if not locations:
        return []
    actor = _actor()
    now = timezone.now()
    created: list[Patient] = []
    for index, (given, family, sex, age, blood, allergies, conditions, tags) in enumerate(PEOPLE):
        phone = _mobile(rnd)
        fields: dict[str, Any] = {
            "given_name": given,
            "family_name": family,
            "sex": sex,
            "blood_group": blood,
            "allergies": allergies,
            "chronic_conditions": conditions,
            "tags": tags,
            "phone": phone,
            **_common(rnd, locations),
        }
        if index % 5 == 0:  # some state only their age
            fields.update(date_of_birth=estimated_dob(age), dob_is_estimated=True)
        else:
            born = estimated_dob(age) - dt.timedelta(days=rnd.randint(0, 364))
            fields.update(date_of_birth=born, dob_is_estimated=False)
        if index % 7 == 3:
            fields["whatsapp_number"] = _mobile(rnd)  # WhatsApp on another number
        if index % 4 == 1:
            fields["email"] = f"{given.lower()}.{family.lower()}@example.in"
        if index % 6 == 2:
            fields["emergency_contact_name"] = f"{rnd.choice(EMERGENCY_NAMES)} {family}"
            fields["emergency_contact_phone"] = _mobile(rnd)
        if index % 9 == 4:
            fields["abha_number"] = "91" + "".join(rnd.choice("0123456789") for _ in range(12))
        if index % 8 == 5:
            fields["aadhaar_last4"] = "".join(rnd.choice("0123456789") for _ in range(4))
        consent = index % 10 not in (6, 9)  # most agreed to WhatsApp reminders
        created.append(
            patient_create(
                actor=actor,
                duplicates_confirmed=True,
                whatsapp_consent=consent,
                consent_source="registration",
                source="demo",
                **fields,
            )
        )
    by_name = {p.full_name: p for p in created}
    for given, family, sex, age, guardian, relation in MINORS:
        parent = by_name.get(guardian)
        fields = {
            "given_name": given,
            "family_name": family,
            "sex": sex,
            "date_of_birth": estimated_dob(age) - dt.timedelta(days=rnd.randint(30, 300)),
            "guardian_name": guardian,
            "guardian_relation": relation,
            "guardian_phone": parent.phone if parent else _mobile(rnd),
            "allergies": "Amoxicillin — rash" if given == "Ishaan" else "",
            "tags": ["paediatric"],
            **_common(rnd, locations),
        }
        if parent is not None:
            fields.update(address=parent.address, pin_code=parent.pin_code)
        created.append(
            patient_create(
                actor=actor,
                duplicates_confirmed=True,
                whatsapp_consent=True,
                consent_source="paper",
                source="demo",
                **fields,
            )
        )
    # One patient asked to stop WhatsApp messages after agreeing.
    opted_out = by_name.get("Harish Shetty")
    if opted_out is not None:
        patient_record_whatsapp_opt_out(
            patient=opted_out, actor=actor, source="whatsapp", at=now - dt.timedelta(days=rnd.randint(2, 20))
        )
    return created


def seed_cross_branch() -> None:
    """The Indiranagar-only doctor opened one Koramangala patient at his branch (break-the-glass),
    so the chart shows the banner and the audit log the grant."""
    from patients.services import patient_open_at_branch

    doctor = User.objects.filter(email="indiranagar@demo.docos.in").first()
    if doctor is None:
        return
    koramangala_only = (
        Patient.objects.filter(registered_location__name="Koramangala", is_active=True, merged_into__isnull=True)
        .order_by("mrn")
        .first()
    )
    if koramangala_only is not None:
        patient_open_at_branch(
            patient=koramangala_only,
            actor=doctor,
            reason="Came to Indiranagar for a follow-up of treatment started at Koramangala",
        )


def seed_import() -> None:
    """A finished import of a small list from an old system: one patient already registered (skipped),
    a new adult, a minor with only a father's name (guardian details needed) and a relative who shares
    a demo patient's phone, held for review ("possible duplicate of DEMO-...: merge / import anyway /
    skip"). Run in-process (no worker needed while seeding)."""
    import csv
    import io

    from patients import importer
    from patients.models import PatientImport

    owner = User.objects.filter(role__slug="owner", is_active=True).order_by("date_joined").first()
    known = Patient.objects.filter(is_active=True, dob_is_estimated=False).exclude(phone="").order_by("mrn").first()
    if owner is None or known is None or known.date_of_birth is None or PatientImport.objects.exists():
        return
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Patient Name", "Sex", "DOB", "Mobile No.", "Father/Husband Name"])
    title = "Smt." if known.sex == "F" else "Mr."
    writer.writerow([f"{title} {known.full_name}", known.sex, f"{known.date_of_birth:%d/%m/%Y}", known.phone, ""])
    writer.writerow(["Kum. Tanvi Rao", "F", f"{estimated_dob(9):%d/%m/%Y}", "", "Suresh Rao"])
    writer.writerow(["Mr. Prakash Menon", "M", "52 Y", "98860 40002", ""])
    writer.writerow(["Savitri Devi", "F", "68 yrs", known.phone, ""])
    patient_import = importer.patient_import_upload(
        actor=owner,
        data=("\ufeff" + out.getvalue()).encode("utf-8"),
        original_name="old-clinic-export.csv",
        location=known.registered_location,
    )
    importer.patient_import_set_mapping(patient_import=patient_import, mapping=patient_import.mapping, actor=owner)
    importer.patient_import_start(patient_import=patient_import, actor=owner, queue=False)
    importer.patient_import_run(import_id=patient_import.pk)


def seed_consents() -> None:
    """The consent log beyond WhatsApp (which registration recorded, the minors' by their guardian
    on the paper form): Priya Nair agreed to marketing messages and withdrew on the phone ten days
    ago; Diya Reddy's father agreed to health-camp offers too; Rahul Aggarwal allowed AI assistance
    on the web form; Ananya Iyer signed the treatment consent at the desk."""
    from patients.consents import consent_record, consent_withdraw
    from patients.models import PatientConsent

    if PatientConsent.objects.filter(purpose="marketing").exists():
        return
    actor = _actor()
    now = timezone.now()
    people = {p.full_name: p for p in Patient.objects.filter(is_active=True, merged_into__isnull=True)}
    priya = people.get("Priya Nair")
    if priya is not None:
        consent_record(
            patient=priya, purpose="marketing", channel="in_person", actor=actor, at=now - dt.timedelta(days=75)
        )
        consent_withdraw(
            patient=priya, purpose="marketing", channel="phone", actor=actor, at=now - dt.timedelta(days=10),
            note="Called the front desk: no more offers, reminders are fine.",
        )  # fmt: skip
    diya = people.get("Diya Reddy")
    if diya is not None:
        consent_record(
            patient=diya, purpose="marketing", channel="paper", actor=actor, given_by="guardian",
            at=now - dt.timedelta(days=30), note="Father signed for the school health-camp offers.",
        )  # fmt: skip
    rahul = people.get("Rahul Aggarwal")
    if rahul is not None:
        consent_record(
            patient=rahul, purpose="ai_assistance", channel="web_form", actor=None, at=now - dt.timedelta(days=5)
        )
    ananya = people.get("Ananya Iyer")
    if ananya is not None:
        consent_record(
            patient=ananya, purpose="treatment", channel="paper", actor=actor, at=now - dt.timedelta(days=2),
            note="Registration form, page 2.",
        )  # fmt: skip


def seed(clinic: Clinic) -> None:
    """Called by clinics/demo.py inside the demo clinic's schema (before documents and clinical)."""
    seed_patients()
    seed_consents()
    seed_cross_branch()
    seed_import()
