"""Writing the tamper-evident audit log. Services call `audit_record` inside their transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditCheckpoint, AuditEvent
from docos.tenancy import current_schema

GENESIS_HASH = "0" * 64


def canonical_content(event: AuditEvent) -> bytes:
    """The bytes a row's hash covers. Changing any audited column changes the hash."""
    content = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "location_id": str(event.location_id) if event.location_id else None,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "changed_fields": list(event.changed_fields),
        "metadata": event.metadata,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def row_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event)).hexdigest()


def _chain_head() -> str:
    last = AuditEvent.objects.order_by("-seq").values_list("row_hash", flat=True).first()
    if last:
        return last
    checkpoint = (
        AuditCheckpoint.objects.order_by("-trimmed_through_seq").values_list("trimmed_through_hash", flat=True).first()
    )
    return checkpoint or GENESIS_HASH


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR is set by the trusted proxy in production (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


@transaction.atomic
def audit_record(
    *,
    actor: Any | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    changed_fields: list[str] | tuple[str, ...] = (),
    location_id: Any | None = None,
    request: HttpRequest | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the current schema's chain. Never pass PHI in `metadata`."""
    # One writer at a time per schema keeps the chain linear; the lock ends with the transaction.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{current_schema()}"])
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    staff = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_id=staff.pk if staff is not None else None,
        actor_label=getattr(staff, "email", ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        location_id=location_id,
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        changed_fields=sorted(changed_fields),
        metadata=metadata or {},
        prev_hash=_chain_head(),
    )
    # The hash covers seq, so take it from the sequence first.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'seq'))", [AuditEvent._meta.db_table])
        event.seq = cursor.fetchone()[0]
    event.row_hash = row_hash(event)
    event.save(force_insert=True)
    return event
