"""Helpers for the clinical-record tests: patients, signing doctors, in-memory encrypted storage."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from accounts.models import User
from clinical import services as clinical
from clinical.models import Prescription, Visit
from patients.models import Patient

IN_MEMORY_FILES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
REG_NO = "KMC-61577"
HINDI = "खाना खाने के बाद"


@pytest.fixture
def clinic_files(settings: Any) -> None:
    """Signed PDFs go to an in-memory storage for the test (still encrypted by docos.storage)."""
    settings.STORAGES = IN_MEMORY_FILES


def make_patient(seeded: Any, **fields: Any) -> Patient:
    defaults = {
        "mrn": f"T-{uuid.uuid4().hex[:8].upper()}",
        "given_name": "Asha",
        "family_name": "Verma",
        "sex": "F",
        "registered_location": seeded.locations[0],
    }
    defaults.update(fields)
    with tenant_context(seeded.clinic):
        patient = Patient.objects.create(**defaults)
    return patient


def staff(seeded: Any, role: str, **updates: Any) -> User:
    """A fresh copy of a seeded user (optionally changed, inside the test's transaction)."""
    with tenant_context(seeded.clinic):
        if updates:
            User.objects.filter(pk=seeded.users[role].pk).update(**updates)
        user = User.objects.select_related("role").get(pk=seeded.users[role].pk)
    return user


def signing_doctor(seeded: Any) -> User:
    return staff(seeded, "doctor", registration_number=REG_NO, qualifications="MBBS, MD")


def restrict(seeded: Any, role: str, location_index: int) -> User:
    """Restrict a seeded user to one location (rolled back with the test)."""
    with tenant_context(seeded.clinic):
        user = User.objects.get(pk=seeded.users[role].pk)
        user.locations.set([seeded.locations[location_index]])
    return user


ITEM = {
    "drug_name": "Paracetamol",
    "strength": "500 mg",
    "form": "Tablet",
    "dose": "1 tab",
    "frequency": "1-0-1",
    "route": "Oral",
    "duration": "5 days",
    "food_relation": "after",
    "instructions": "After meals",
    "instructions_hi": HINDI,
}


def draft_visit(seeded: Any, patient: Patient, *, location: int = 0, **fields: Any) -> Visit:
    doctor = signing_doctor(seeded)
    with tenant_context(seeded.clinic):
        visit = clinical.visit_create(
            patient=patient,
            actor=doctor,
            location=seeded.locations[location],
            chief_complaint=fields.pop("chief_complaint", "Fever for 3 days"),
            notes=fields.pop("notes", {"history": "Fever since Monday", "plan": "Paracetamol, fluids"}),
            diagnoses=fields.pop("diagnoses", [{"text": "Viral fever", "icd10": "B34.9"}]),
            **fields,
        )
    return visit


def draft_prescription(
    seeded: Any, patient: Patient, *, location: int = 0, items: list[dict[str, Any]] | None = None, **fields: Any
) -> Prescription:
    doctor = signing_doctor(seeded)
    fields.setdefault("print_hindi", True)
    with tenant_context(seeded.clinic):
        prescription = clinical.prescription_create(
            patient=patient,
            actor=doctor,
            location=seeded.locations[location],
            items=items if items is not None else [ITEM],
            **fields,
        )
    return prescription


def signed_prescription(seeded: Any, patient: Patient, **kwargs: Any) -> Prescription:
    prescription = draft_prescription(seeded, patient, **kwargs)
    with tenant_context(seeded.clinic):
        clinical.prescription_sign(prescription=prescription, actor=signing_doctor(seeded))
        prescription = Prescription.objects.select_related("document").get(pk=prescription.pk)
    return prescription


def pdf_text(data: bytes) -> str:
    """All text of a PDF, whitespace collapsed (text extraction may split words differently)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
