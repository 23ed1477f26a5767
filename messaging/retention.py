"""WhatsApp retention (registered with audit.retention): message texts, template parameters and
media are kept 90 days (RETENTION_WHATSAPP_BODY_DAYS), then removed; the metadata (ids, kind,
status, times, pricing) stays, so counts, receipts and the audit trail still add up. A conversation
flagged "retain" (clinical or legal reasons) is skipped, for both directions, and so is every
conversation of a patient under legal hold (patients.Patient.legal_hold_at).

Media files go in a rule of their own that runs after the texts: it deletes the files of messages
already committed as purged, and only then forgets each file's name. A crash anywhere leaves either
a purged row that still names its file (the next run deletes it; deleting a missing file is a
no-op) or an untouched row: never a row that claims a file is gone while it is still stored, nor a
stored file nobody knows of.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from audit.retention import Cursor, RetentionRule, cutoff, register_rule
from docos.storage import delete_stored
from messaging.models import Contact, InboundMessage, MediaStatus, OutboundMessage
from patients.models import Patient


def _retained_contacts() -> QuerySet[Contact]:
    """Conversations flagged "retain", and those of patients under legal hold."""
    held = Patient.objects.filter(legal_hold_at__isnull=False).values("pk")
    return Contact.objects.filter(Q(retained_at__isnull=False) | Q(patient__in=held))


def _inbound_due(now: dt.datetime) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(
        purged_at__isnull=True, sent_at__lt=cutoff(now, settings.RETENTION_WHATSAPP_BODY_DAYS)
    ).exclude(contact__in=_retained_contacts().values("pk"))


def _files_left() -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(purged_at__isnull=False).exclude(media_storage_name="")


def _not_retained(messages: QuerySet[OutboundMessage]) -> QuerySet[OutboundMessage]:
    """Leave out messages of a kept conversation (its contact, or its patient's other messages)."""
    retained = _retained_contacts()
    return (
        messages.exclude(contact__in=retained.values("pk"))
        .exclude(patient__in=retained.filter(patient__isnull=False).values("patient"))
        .exclude(patient__in=Patient.objects.filter(legal_hold_at__isnull=False).values("pk"))
    )


def _outbound_due(now: dt.datetime) -> QuerySet[OutboundMessage]:
    return _not_retained(
        OutboundMessage.objects.filter(
            purged_at__isnull=True, created_at__lt=cutoff(now, settings.RETENTION_WHATSAPP_BODY_DAYS)
        ).exclude(status__in=(OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING))
    )


def purge_inbound(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    """Blank the oldest `limit` due messages, starting where the run's last batch stopped."""
    due = _inbound_due(now)
    if cursor.after is not None:
        due = due.filter(sent_at__gte=cursor.after)
    rows = list(due.order_by("sent_at").values_list("pk", "sent_at")[:limit])
    if not rows:
        return 0
    # No row locks while choosing (FOR UPDATE would write every page twice): the update re-checks
    # `purged_at`, so a run beside this one purges nothing twice, and the "Keep" flag, so a
    # conversation kept since the rows were chosen loses nothing.
    InboundMessage.objects.filter(pk__in=[pk for pk, _ in rows], purged_at__isnull=True).exclude(
        contact__in=_retained_contacts().values("pk")
    ).update(
        body=None,
        payload=None,
        media_filename=None,
        purged_at=timezone.now(),
        media_status=Case(When(media_status="", then=Value("")), default=Value(MediaStatus.PURGED)),
    )
    cursor.after = rows[-1][1]
    return len(rows)


def purge_media_files(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    """Delete the stored files of purged messages, then forget their names (in this transaction)."""
    rows = list(
        _files_left()
        .select_for_update(skip_locked=True)
        .order_by("sent_at")
        .values_list("pk", "media_storage_name")[:limit]
    )
    for pk, name in rows:
        delete_stored(name)
        InboundMessage.objects.filter(pk=pk).update(media_storage_name="")
    return len(rows)


def purge_outbound(now: dt.datetime, limit: int, cursor: Cursor) -> int:
    due = _outbound_due(now)
    if cursor.after is not None:
        due = due.filter(created_at__gte=cursor.after)
    rows = list(due.select_for_update(skip_locked=True).order_by("created_at").values_list("pk", "created_at")[:limit])
    if not rows:
        return 0
    # The "Keep" flag again: the rows are locked, their conversation is not (kept since they were chosen).
    _not_retained(OutboundMessage.objects.filter(pk__in=[pk for pk, _ in rows])).update(
        body=None, parameters=None, purged_at=timezone.now()
    )
    cursor.after = rows[-1][1]
    return len(rows)


def register_messaging_rules() -> None:
    register_rule(
        RetentionRule(
            key="messaging.inbound",
            label="WhatsApp messages from patients: texts and media older than the retention period",
            count_due=lambda now: _inbound_due(now).count(),
            purge_batch=purge_inbound,
        )
    )
    register_rule(
        RetentionRule(
            key="messaging.media_files",
            label="Files of those WhatsApp messages (photos, documents, voice notes), deleted from storage",
            count_due=lambda now: _files_left().count() + _inbound_due(now).exclude(media_storage_name="").count(),
            purge_batch=purge_media_files,
        )
    )
    register_rule(
        RetentionRule(
            key="messaging.outbound",
            label="WhatsApp messages to patients: texts and template values older than the retention period",
            count_due=lambda now: _outbound_due(now).count(),
            purge_batch=purge_outbound,
        )
    )
