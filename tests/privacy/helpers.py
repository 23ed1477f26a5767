"""Helpers for the privacy tests: patients with records in every app, rights requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.models import User
from billing.models import Invoice
from clinical.models import Visit
from docos.storage import store_encrypted
from documents.models import PatientDocument
from patients.models import Patient
from privacy.models import RightsRequest
from privacy.services import rights_request_create

REPORT = b"%PDF-1.4\n% CBC report of Asha Verma\n"


def visit(seeded: Any, patient: Patient, at: dt.datetime, **fields: Any) -> Visit:
    return Visit.objects.create(
        patient=patient,
        location=seeded.locations[0],
        clinician=seeded.users["doctor"],
        visit_at=at,
        status=Visit.Status.SIGNED,
        chief_complaint="Fever for 3 days",
        bp_systolic=128,
        bp_diastolic=84,
        pulse=88,
        spo2=98,
        weight_kg="62.5",
        diagnoses=[{"text": "Viral fever", "icd10": "B34.9"}],
        procedures_performed="Nebulisation",
        **fields,
    )


def upload(seeded: Any, patient: Patient, data: bytes = REPORT) -> PatientDocument:
    stored = store_encrypted(seeded.clinic, data=data, folder="documents", suffix=".pdf")
    return PatientDocument.objects.create(
        patient=patient,
        title="CBC report",
        content_type="application/pdf",
        original_name="cbc.pdf",
        size=stored.size,
        sha256=stored.sha256,
        storage_name=stored.name,
        uploaded_by=seeded.users["doctor"],
        location=seeded.locations[0],
    )


def invoice(seeded: Any, patient: Patient, fy: int) -> Invoice:
    return Invoice.objects.create(
        patient=patient,
        location=seeded.locations[0],
        financial_year=fy,
        created_by=seeded.users["owner"],
        created_at=dt.datetime(fy, 6, 1, tzinfo=dt.UTC),
    )


def owner(seeded: Any) -> User:
    return User.objects.get(pk=seeded.users["owner"].pk)


def request_for(seeded: Any, patient: Patient | None, kind: str, *, location: int = 0) -> RightsRequest:
    return rights_request_create(
        actor=owner(seeded),
        kind=kind,
        location=seeded.locations[location],
        patient=patient,
        requester_name="Asha Verma",
        verification=RightsRequest.Verification.IN_PERSON_ID,
    )
