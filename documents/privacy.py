"""What the documents app holds about a patient, registered in the patient-data registry: uploaded
reports and images, consent forms, certificates, and the signed PDFs of those and of prescriptions
(every file encrypted in the clinic's storage). Clinical records for retention: kept as long as the
rest of the patient's clinical record (10 years after the last encounter; minors longer)."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Greatest

from documents.models import Certificate, ConsentForm, PatientDocument, SignedDocument
from patients import registry
from patients.models import Patient
from patients.registry import Erased, ExportFile, Records, record_of

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str, fallback: str) -> str:
    cleaned = _UNSAFE.sub("-", text or "").strip("-.")[:60]
    return cleaned or fallback


def _export(patient: Patient) -> Records:
    ids = registry.patient_ids(patient)
    return {
        "uploads": [
            record_of(d, ("title", "category", "content_type", "original_name", "size", "sha256", "created_at"))
            for d in PatientDocument.objects.filter(patient_id__in=ids).order_by("created_at")
        ],
        "consents": [
            {
                **record_of(
                    c, ("procedure", "rendered_text", "signer_name", "signer_relation", "witness_name", "signed_at")
                ),
                "form": c.template.name,
                "form_version": c.template.version,
                "document": c.document.verification_code,
            }
            for c in ConsentForm.objects.filter(patient_id__in=ids).select_related("template", "document")
        ],
        "certificates": [
            {
                **record_of(c, ("kind", "body", "details", "signed_at")),
                "doctor": c.doctor.full_name,
                "document": c.document.verification_code,
            }
            for c in Certificate.objects.filter(patient_id__in=ids).select_related("doctor", "document")
        ],
        "signed_documents": [
            record_of(d, ("kind", "verification_code", "sha256", "size", "signed_at"))
            for d in SignedDocument.objects.filter(patient_id__in=ids).order_by("signed_at")
        ],
    }


def _files(patient: Patient) -> list[ExportFile]:
    ids = registry.patient_ids(patient)
    files = []
    for doc in PatientDocument.objects.filter(patient_id__in=ids).order_by("created_at"):
        name = _safe(doc.original_name or doc.title, f"document-{doc.pk}")
        files.append(
            ExportFile(
                f"documents/uploads/{doc.created_at:%Y-%m-%d}-{doc.pk.hex[:8]}-{name}", doc.storage_name, doc.sha256
            )
        )
    for signed in SignedDocument.objects.filter(patient_id__in=ids).order_by("signed_at"):
        files.append(
            ExportFile(
                f"documents/signed/{signed.signed_at:%Y-%m-%d}-{signed.kind}-{signed.verification_code}.pdf",
                signed.storage_name,
                signed.sha256,
            )
        )
    return files


def _erase(patient: Patient) -> Erased:
    ids = registry.patient_ids(patient)
    uploads = PatientDocument.objects.filter(patient_id__in=ids)
    signed = SignedDocument.objects.filter(patient_id__in=ids)
    files = list(uploads.values_list("storage_name", flat=True)) + list(signed.values_list("storage_name", flat=True))
    rows = uploads.delete()[0]
    rows += ConsentForm.objects.filter(patient_id__in=ids).delete()[0]
    rows += Certificate.objects.filter(patient_id__in=ids).delete()[0]
    rows += signed.delete()[0]  # after the prescriptions (clinical erases first) that point at them
    return Erased(rows=rows, files=files)


def _last_encounter(patient: Patient) -> dt.datetime | None:
    ids = registry.patient_ids(patient)
    moments = [
        SignedDocument.objects.filter(patient_id__in=ids)
        .order_by("-signed_at")
        .values_list("signed_at", flat=True)
        .first(),
        PatientDocument.objects.filter(patient_id__in=ids)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first(),
    ]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def _last_encounter_sql() -> Greatest:
    return Greatest(
        Subquery(SignedDocument.objects.filter(patient=OuterRef("pk")).order_by("-signed_at").values("signed_at")[:1]),
        Subquery(
            PatientDocument.objects.filter(patient=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
        ),
    )


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="documents",
            label="Uploaded reports and images, consent forms, certificates and signed PDFs",
            category=registry.CLINICAL,
            export=_export,
            files=_files,
            erase=_erase,
            retain_until=lambda patient: registry.clinical_retain_until(patient),
            last_encounter=_last_encounter,
            last_encounter_sql=_last_encounter_sql,
            erase_order=50,
        )
    )
