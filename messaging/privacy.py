"""What the messaging app holds about a patient, registered in the patient-data registry: WhatsApp
conversations (contacts linked to the patient), the messages both ways and the media files the
patient sent. Messages have their own 90-day retention (messaging.retention); a restriction stops
every message to the patient (messaging.services refuses a restricted patient) and queued ones."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from messaging.models import Contact, InboundMessage, MediaStatus, OutboundMessage
from patients import registry
from patients.models import Patient
from patients.registry import Erased, ExportFile, Records, record_of


def _contacts(patient: Patient) -> QuerySet[Contact]:
    return Contact.objects.filter(patient_id__in=registry.patient_ids(patient))


def _outbound(patient: Patient) -> QuerySet[OutboundMessage]:
    ids = registry.patient_ids(patient)
    return OutboundMessage.objects.filter(Q(patient_id__in=ids) | Q(contact__patient_id__in=ids))


def _export(patient: Patient) -> Records:
    contacts = list(_contacts(patient))
    return {
        "whatsapp_conversations": [
            {**record_of(c, ("phone", "profile", "opted_out_at", "created_at", "retained_at"))} for c in contacts
        ],
        "whatsapp_received": [
            {
                **record_of(m, ("kind", "body", "media_content_type", "media_filename", "sent_at", "purged_at")),
                "conversation": str(m.contact_id),
            }
            for m in InboundMessage.objects.filter(contact__in=contacts).order_by("sent_at")
        ],
        "whatsapp_sent": [
            record_of(
                m,
                (
                    "kind",
                    "purpose",
                    "to_number",
                    "template_name",
                    "parameters",
                    "body",
                    "status",
                    "created_at",
                    "sent_at",
                    "delivered_at",
                    "read_at",
                    "purged_at",
                ),
            )
            for m in _outbound(patient).order_by("created_at")
        ],
    }


def _files(patient: Patient) -> list[ExportFile]:
    media = InboundMessage.objects.filter(contact__in=_contacts(patient), media_status=MediaStatus.STORED).exclude(
        media_storage_name=""
    )
    return [
        ExportFile(
            f"whatsapp/{m.sent_at:%Y-%m-%d-%H%M%S}-{m.pk.hex[:8]}-{m.kind}", m.media_storage_name, m.media_sha256
        )
        for m in media.order_by("sent_at")
    ]


def _erase(patient: Patient) -> Erased:
    contacts = _contacts(patient)
    files = list(
        InboundMessage.objects.filter(contact__in=contacts)
        .exclude(media_storage_name="")
        .values_list("media_storage_name", flat=True)
    )
    rows = _outbound(patient).delete()[0]
    rows += contacts.delete()[0]  # their inbound messages cascade
    return Erased(rows=rows, files=files)


def _restrict(patient: Patient) -> None:
    """Nothing more goes out: queued messages to the patient fail now instead of at dispatch."""
    from messaging.services import RESTRICTED, failure_sentence

    _outbound(patient).filter(status=OutboundMessage.Status.QUEUED).update(
        status=OutboundMessage.Status.FAILED, error=RESTRICTED, error_title=failure_sentence(RESTRICTED)[:200],
        failed_at=timezone.now(),
    )  # fmt: skip


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="messaging",
            label="WhatsApp conversations, messages and media",
            category=registry.CONTACT,
            export=_export,
            files=_files,
            erase=_erase,
            restrict=_restrict,
            erase_order=20,
        )
    )
