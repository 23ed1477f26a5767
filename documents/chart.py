"""What the documents app adds to a patient's chart: uploads, consents and certificates on the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from documents.models import Certificate, ConsentForm, PatientDocument
from patients.access import scope_patient_records
from patients.models import Patient
from patients.selectors import TIMELINE_SOURCE_LIMIT, TimelineEntry, url_for


def _documents(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    if not user.has_capability("documents.view"):
        return []
    docs = scope_patient_records(PatientDocument.objects.filter(patient=patient), user).order_by("-created_at")[
        :TIMELINE_SOURCE_LIMIT
    ]
    return [
        TimelineEntry(
            kind="document",
            at=doc.created_at,
            title=doc.title,
            detail=doc.get_category_display(),
            url=url_for(
                ["documents-detail", "document-detail", "patients-document-detail"],
                f"/documents/{doc.pk}/",
                document_id=doc.pk,
            ),
            badge="Document",
            clinical=True,
        )
        for doc in docs
    ]


def _consents(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    if not (user.has_capability("clinical.view") or user.has_capability("consents.manage")):
        return []
    forms = (
        scope_patient_records(ConsentForm.objects.filter(patient=patient), user)
        .select_related("template")
        .order_by("-signed_at")
    )
    return [
        TimelineEntry(
            kind="consent",
            at=form.signed_at,
            title=f"Consent: {form.template.name}",
            detail=form.procedure or f"Signed by {form.get_signer_relation_display().lower()}",
            url=url_for(
                ["consents-detail", "consent-detail", "patients-consent-detail"],
                f"/consents/{form.pk}/",
                consent_id=form.pk,
            ),
            badge="Consent",
            clinical=True,
        )
        for form in forms[:TIMELINE_SOURCE_LIMIT]
    ]


def _certificates(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    if not (user.has_capability("clinical.view") or user.has_capability("certificates.sign")):
        return []
    certificates = (
        scope_patient_records(Certificate.objects.filter(patient=patient), user)
        .select_related("doctor")
        .order_by("-signed_at")
    )
    return [
        TimelineEntry(
            kind="certificate",
            at=cert.signed_at,
            title=f"{cert.get_kind_display()} certificate",
            detail=cert.doctor.full_name,
            url=url_for(
                ["certificates-detail", "certificate-detail", "patients-certificate-detail"],
                f"/certificates/{cert.pk}/",
                certificate_id=cert.pk,
            ),
            badge="Certificate",
            clinical=True,
        )
        for cert in certificates[:TIMELINE_SOURCE_LIMIT]
    ]


def register() -> None:
    from patients.selectors import register_timeline_source

    register_timeline_source("documents", _documents)
    register_timeline_source("consents", _consents)
    register_timeline_source("certificates", _certificates)
