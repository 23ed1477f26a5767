"""Helpers for the off-boarding tests: a clinic with patients, visits, documents and files."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from accounts.models import Location, User
from clinical.models import Visit
from clinics.archive import storage_names
from clinics.models import (
    DocumentVerification,
    Plan,
    PlatformInvoice,
    PlatformPayment,
    Subscription,
    VendorRoute,
)
from docos import crypto
from docos.storage import delete_stored, read_raw, store_encrypted
from documents.services import document_upload
from patients.models import Patient

REPORT = b"%PDF-1.4\n% Lipid profile of Ramesh Kulkarni\n%%EOF\n"
XRAY = b"%PDF-1.4\n% Chest X-ray report of Sunita Deshpande\n%%EOF\n"
CLINIC_FILE = b"Clinic letterhead draft, Pune\n"


def fill_clinic(clinic: Any, owner: User) -> dict[str, Any]:
    """Patients with visits (encrypted clinical text), documents (patient-keyed files), a clinic-keyed
    file, and the public-side rows a clinic has (webhook route, verification code, subscription, invoice)."""
    made: dict[str, Any] = {}
    with tenant_context(clinic):
        owner = User.objects.get(pk=owner.pk)
        location = Location.objects.order_by("name").first()
        patients = []
        for mrn, given, family, sex, phone, born, report in (
            ("PUN-0001", "Ramesh", "Kulkarni", "M", "+919822012345", dt.date(1968, 3, 2), REPORT),
            ("PUN-0002", "Sunita", "Deshpande", "F", "+919890054321", dt.date(1985, 11, 20), XRAY),
        ):
            patient = Patient.objects.create(
                mrn=mrn,
                given_name=given,
                family_name=family,
                sex=sex,
                phone=phone,
                date_of_birth=born,
                registered_location=location,
            )
            Visit.objects.create(
                patient=patient,
                location=location,
                clinician=owner,
                visit_at=timezone.now() - dt.timedelta(days=3),
                status=Visit.Status.SIGNED,
                chief_complaint="Chest tightness on climbing stairs",
                bp_systolic=142,
                bp_diastolic=90,
                weight_kg=Decimal("78.4"),
                diagnoses=[{"text": "Essential hypertension", "icd10": "I10"}],
            )
            document_upload(
                patient=patient,
                actor=owner,
                file=SimpleUploadedFile(f"{mrn}.pdf", report, content_type="application/pdf"),
                title="Report",
                location=location,
            )
            patients.append(patient)
        made["patients"] = [p.pk for p in patients]
        made["clinic_file"] = store_encrypted(clinic, data=CLINIC_FILE, folder="letterheads", suffix=".txt").name
    with schema_context("public"):
        VendorRoute.objects.create(vendor="whatsapp", account_id=f"pn-{clinic.slug}", clinic=clinic)
        DocumentVerification.objects.create(
            code=f"V{clinic.slug[:10].upper()}", clinic=clinic, kind="rx", issued_at=timezone.now(), sha256="0" * 64
        )
        plan = Plan.objects.get_or_create(
            code="offboard-monthly",
            defaults={"name": "Clinic monthly", "period": Plan.Period.MONTHLY, "unit_price": Decimal("1499.00")},
        )[0]
        subscription = Subscription.objects.create(clinic=clinic, plan=plan, status=Subscription.Status.ACTIVE)
        payment = PlatformPayment.objects.create(
            subscription=subscription,
            razorpay_payment_id=f"pay_{clinic.slug[:12]}",
            status="captured",
            amount=Decimal("1768.82"),
            paid_or_failed_at=timezone.now(),
        )
        made["invoice"] = PlatformInvoice.objects.create(
            payment=payment,
            number=f"DOS2627-{clinic.slug[:6]}",
            financial_year="2627",
            issued_at=timezone.now(),
            clinic_name=clinic.name,
            description="DocOS subscription",
            sac="998314",
            taxable_value=Decimal("1499.00"),
            cgst=Decimal("134.91"),
            sgst=Decimal("134.91"),
            total=Decimal("1768.82"),
        ).pk
    return made


def file_hashes(clinic: Any) -> dict[str, str]:
    """SHA-256 of every stored file's plaintext, by its path inside the clinic's prefix."""
    hashes = {}
    with tenant_context(clinic):
        for name in storage_names(clinic.schema_name):
            data = crypto.decrypt_file(clinic, read_raw(name), name)
            hashes[name[len(clinic.schema_name) + 1 :]] = hashlib.sha256(data).hexdigest()
    return hashes


def remove_files(prefix: str) -> None:
    for name in storage_names(prefix):
        delete_stored(name)
