"""What messaging adds to a patient's chart: the WhatsApp conversation panel (latest messages,
older ones on request, new ones without a reload), a reply box inside the 24-hour window, an
approved template outside it, and "send this prescription / certificate" as a PDF document.

The signed PDFs are the clinical and documents apps' (messaging sits above both and reads their
lists through their selectors, so only documents the user may open are offered)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clinical.models import Prescription
from clinical.selectors import prescription_list
from documents.selectors import certificate_list
from messaging import inbox, selectors
from messaging.services import SIGNED_DOCUMENT, whatsapp_account, whatsapp_ready
from patients.models import Patient

DOCUMENTS_OFFERED = 5  # of each kind, newest first


@dataclass(frozen=True)
class SendableDocument:
    """`document`: a `documents.SignedDocument`, or for another `source` (registered with
    `messaging.services.register_document_source`) any object with `pk`, `patient_id`, `location_id`."""

    document: Any
    label: str
    filename: str
    caption: str
    source: str = SIGNED_DOCUMENT
    kind: str = ""


DocumentProvider = Callable[[Any, Patient], list[SendableDocument]]
_PROVIDERS: list[DocumentProvider] = []


def register_sendable_documents(provider: DocumentProvider) -> None:
    """Apps above messaging (billing) add PDFs to the chart's "Send PDF" list: `provider(user,
    patient)` returns the ones `user` may send, newest first. Registering twice has no effect."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def sendable_documents(*, user: Any, patient: Patient) -> list[SendableDocument]:
    """The patient's signed prescriptions and certificates `user` may open, newest first, then what
    other apps registered (billing: issued invoices)."""
    found: list[SendableDocument] = []
    if user.has_capability("prescriptions.view"):
        prescriptions = (
            prescription_list(user=user, patient=patient, status=Prescription.Status.SIGNED)
            .filter(document__isnull=False)
            .order_by("-signed_at")[:DOCUMENTS_OFFERED]
        )
        for rx in prescriptions:
            assert rx.document is not None and rx.signed_at is not None
            found.append(
                SendableDocument(
                    document=rx.document,
                    label=f"Prescription of {rx.signed_at:%d %b %Y} ({rx.prescriber.full_name})",
                    filename=f"prescription-{rx.document.verification_code}.pdf",
                    caption=f"Your prescription of {rx.signed_at:%d %b %Y}",
                )
            )
    if user.has_capability("clinical.view"):
        for certificate in certificate_list(user=user, patient=patient)[:DOCUMENTS_OFFERED]:
            found.append(
                SendableDocument(
                    document=certificate.document,
                    label=f"{certificate.get_kind_display()} certificate of {certificate.signed_at:%d %b %Y}",
                    filename=f"certificate-{certificate.document.verification_code}.pdf",
                    caption=f"Your {certificate.get_kind_display().lower()} certificate",
                )
            )
    for provider in _PROVIDERS:
        found.extend(provider(user, patient))
    return found


def sendable_document(*, user: Any, patient: Patient, document_id: str) -> SendableDocument | None:
    return next((d for d in sendable_documents(user=user, patient=patient) if str(d.document.pk) == document_id), None)


def panel_context(*, user: Any, patient: Patient, page: int = 1) -> dict[str, Any]:
    """Everything the panel (and its refresh) shows."""
    contact = selectors.patient_contact(patient)
    lines = selectors.conversation_page(contact=contact, patient=patient, page=page)
    can_send = user.has_capability("messaging.send") and patient.is_active and patient.merged_into_id is None
    opted_out = patient.whatsapp_opted_out_at is not None or (contact is not None and inbox.contact_opted_out(contact))
    return {
        "template": "messaging/_chart_conversation.html",
        "contact": contact,
        "lines_page": lines,
        "lines_url": f"/inbox/patient/{patient.pk}/lines/",
        "window_closes_at": selectors.window_closes_at(contact) if contact is not None else None,
        "opted_out": opted_out,
        "opted_out_message": inbox.OPTED_OUT_MESSAGE,
        "window_closed_message": inbox.WINDOW_CLOSED_MESSAGE,
        "no_consent": patient.whatsapp_consent_at is None,
        "can_send": can_send,
        "ready": whatsapp_ready(whatsapp_account()),
        "templates": inbox.INBOX_TEMPLATES,
        "documents": sendable_documents(user=user, patient=patient) if can_send else [],
        "key": str(uuid.uuid4()),
    }


def _conversation(patient: Patient, user: Any) -> dict[str, Any] | None:
    if not (user.has_capability("messaging.view") and user.has_capability("patients.view")):
        return None
    return panel_context(user=user, patient=patient)


def register() -> None:
    from patients.selectors import register_chart_section

    register_chart_section(_conversation)
