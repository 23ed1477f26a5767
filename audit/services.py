"""Writing the tamper-evident audit log. Services call `audit_record` inside their transaction.

Every schema (each clinic, and public) keeps one chain: a row's `row_hash` is an HMAC-SHA256 of its
canonical content, which includes `prev_hash` (the `row_hash` of the row written before it) and the
row's `key_id`. The MAC key is derived with HKDF from key `key_id` of the encryption key ring
(DOCOS_ENCRYPTION_KEYS, info b"docos-audit-chain-v1"), never the ring key itself; new rows use the
primary key. So someone who can write to the database but does not hold the key ring cannot
rebuild a consistent chain, as they could when the hash was plain SHA-256. The schema's
`AuditChainHead` row names the newest event and is updated in the same transaction, so the chain's
end is anchored too (see audit.chain for verification, trimming and re-keying).

Rows written before the chain was keyed have `key_id` "" and a plain SHA-256 `row_hash`;
verification refuses them, and `audit_rekey` re-seals them (and rows of a retired key) with the
primary key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.context import AuditContext
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from docos import crypto
from docos.tenancy import current_schema

GENESIS_HASH = "0" * 64
HEAD_RESTORED_ACTION = "audit.head_restored"
AUDIT_KEY_INFO = b"docos-audit-chain-v1"  # the HKDF purpose label of the audit chain's MAC keys
# The columns a row's MAC covers (besides row_hash itself), in the form `.values()` returns them.
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "location_id",
    "ip",
    "user_agent",
    "changed_fields",
    "metadata",
    "prev_hash",
    "key_id",
    "request_id",
)


def canonical_values(values: Mapping[str, Any]) -> bytes:
    """The bytes a row's MAC covers, from a mapping of HASHED_FIELDS (a model's or `.values()`)."""
    occurred_at: dt.datetime = values["occurred_at"]
    content = {
        "seq": values["seq"],
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat(),
        "actor_id": str(values["actor_id"]) if values["actor_id"] else None,
        "actor_label": values["actor_label"],
        "action": values["action"],
        "object_type": values["object_type"],
        "object_id": values["object_id"],
        "location_id": str(values["location_id"]) if values["location_id"] else None,
        "ip": values["ip"],
        "user_agent": values["user_agent"],
        "changed_fields": list(values["changed_fields"]),
        "metadata": values["metadata"],
        "prev_hash": values["prev_hash"],
    }
    if values["key_id"]:  # rows from before keying (key_id "") keep the content their SHA-256 covered
        content["key_id"] = values["key_id"]
    if values.get("request_id"):  # likewise rows from before request ids were kept
        content["request_id"] = values["request_id"]
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def canonical_content(event: AuditEvent) -> bytes:
    """The bytes a row's MAC covers. Changing any audited column changes the MAC."""
    return canonical_values(_values_of(event))


def _values_of(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def audit_keys() -> crypto.DerivedKeys:
    """The chain's MAC keys by key id, derived from the encryption key ring (cached per ring)."""
    return crypto.derived_keys(AUDIT_KEY_INFO)


def seal_values(values: Mapping[str, Any], keys: crypto.DerivedKeys | None = None) -> str:
    """A row's MAC under the audit key of its `key_id`. Raises crypto.UnknownKeyError when that key
    id is not in the ring (any more), ValueError for a row written before keying (no key id)."""
    kid = values["key_id"]
    if not kid:
        raise ValueError(f"Audit row #{values['seq']} has no key id: it was written before the chain was keyed.")
    key = (keys or audit_keys()).key(kid)
    return hmac.new(key, canonical_values(values), hashlib.sha256).hexdigest()


def legacy_hash_values(values: Mapping[str, Any]) -> str:
    """The plain SHA-256 of a row written before keying (key_id ""). Only `audit_rekey` accepts it."""
    return hashlib.sha256(canonical_values(values)).hexdigest()


def row_hash(event: AuditEvent) -> str:
    """The MAC `event` should carry, under the key its `key_id` names."""
    return seal_values(_values_of(event))


def chain_lock() -> None:
    """Serialise writers (and trims) of the current schema's chain until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{current_schema()}"])


def _chain_tail() -> str:
    """The newest row's hash read from the table itself: only used while no head row exists."""
    last = AuditEvent.objects.order_by("-seq").values_list("row_hash", flat=True).first()
    if last:
        return last
    checkpoint = (
        AuditCheckpoint.objects.order_by("-trimmed_through_seq").values_list("trimmed_through_hash", flat=True).first()
    )
    return checkpoint or GENESIS_HASH


def _insert(
    *,
    occurred_at: dt.datetime,
    actor_id: Any,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    location_id: Any,
    ip: str | None,
    user_agent: str,
    changed_fields: list[str],
    metadata: Mapping[str, Any],
    prev_hash: str,
    request_id: str = "",
) -> AuditEvent:
    keys = audit_keys()
    # One round trip takes the seq (the MAC covers it) and has PostgreSQL normalise the two values
    # whose stored text it may rewrite (inet: IPv6 spelling; jsonb: number formats), so the MAC is
    # computed over exactly what a later read returns.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'seq')), host(%s::inet), (%s::jsonb)::text",
            [AuditEvent._meta.db_table, ip, json.dumps(metadata, cls=DjangoJSONEncoder)],
        )
        seq, stored_ip, stored_metadata = cursor.fetchone()
    event = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        location_id=location_id,
        ip=stored_ip,
        user_agent=user_agent,
        changed_fields=changed_fields,
        metadata=json.loads(stored_metadata),
        prev_hash=prev_hash,
        key_id=keys.primary_kid,
        request_id=request_id,
    )
    event.row_hash = seal_values(_values_of(event), keys)
    event.save(force_insert=True)
    return event


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
    context: AuditContext | None = None,
    request: HttpRequest | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the current schema's chain. Never pass PHI in `metadata`.

    Services pass the `context` their caller built; HTTP-layer code (sign-in, the audit console) may
    pass its `request` instead."""
    if context is None:
        context = AuditContext.from_request(request)
    # One writer at a time per schema keeps the chain linear; the lock ends with the transaction.
    chain_lock()
    now = timezone.now()
    head = AuditChainHead.objects.filter(key=1).first()
    if head is not None:
        prev = head.last_hash
    else:
        prev = _chain_tail()
        if prev != GENESIS_HASH:
            # Events (or a trim checkpoint) exist but their head row is gone: deleted along with the
            # newest events, perhaps. Say so in the chain itself, where verification will report it.
            restored = _insert(
                occurred_at=now,
                actor_id=None,
                actor_label="",
                action=HEAD_RESTORED_ACTION,
                object_type="",
                object_id="",
                location_id=None,
                ip=None,
                user_agent="",
                changed_fields=[],
                metadata={},
                prev_hash=prev,
            )
            prev = restored.row_hash
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    staff = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = _insert(
        occurred_at=now,
        actor_id=staff.pk if staff is not None else None,
        actor_label=getattr(staff, "email", ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        location_id=location_id,
        ip=context.ip,
        user_agent=context.user_agent,
        changed_fields=sorted(changed_fields),
        metadata=metadata or {},
        prev_hash=prev,
        request_id=context.request_id,
    )
    if head is not None:
        AuditChainHead.objects.filter(key=1).update(last_seq=event.seq, last_hash=event.row_hash, updated_at=now)
    else:
        AuditChainHead.objects.create(key=1, last_seq=event.seq, last_hash=event.row_hash, updated_at=now)
    return event
