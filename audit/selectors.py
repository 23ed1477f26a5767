"""Reading the audit log for the console and its CSV export (current schema only)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from docos.csv_cells import safe_cell

SYSTEM_ACTOR = "system"  # the filter value for events without a signed-in actor
EXPORT_BATCH_SIZE = 2000
CSV_HEADER = (
    "seq",
    "time",
    "actor",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "location_id",
    "changed_fields",
    "ip",
    "user_agent",
    "metadata",
    "prev_hash",
    "row_hash",
)


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # a user id, SYSTEM_ACTOR, or "" for anyone
    action: str = ""  # an exact action ("patient.create") or a prefix ("patient")
    date_from: dt.date | None = None  # inclusive, in the clinic's time zone
    date_to: dt.date | None = None  # inclusive, in the clinic's time zone

    def as_metadata(self) -> dict[str, str]:
        """The filters as they are recorded on an export event (ids and dates, no PHI)."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


def audit_actor_choices() -> list[tuple[str, str]]:
    """Staff of this clinic (including deactivated ones, whose past actions stay in the log)."""
    return [
        (str(pk), f"{name or email} ({email})" + ("" if active else ", deactivated"))
        for pk, name, email, active in get_user_model()
        .objects.order_by("full_name", "email")
        .values_list("pk", "full_name", "email", "is_active")
    ]


def audit_event_search(*, filters: AuditFilters, tz: ZoneInfo) -> QuerySet[AuditEvent]:
    """Events matching `filters`, newest first. Dates are days in `tz` (the clinic's time zone)."""
    events = AuditEvent.objects.order_by("-seq")
    if filters.actor == SYSTEM_ACTOR:
        events = events.filter(actor_id__isnull=True)
    elif filters.actor:
        events = events.filter(actor_id=filters.actor)
    if filters.action:
        prefix = filters.action.rstrip(".")
        events = events.filter(Q(action=prefix) | Q(action__startswith=f"{prefix}."))
    if filters.date_from:
        events = events.filter(occurred_at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=tz))
    if filters.date_to:
        next_day = filters.date_to + dt.timedelta(days=1)
        events = events.filter(occurred_at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    return events


def _cell(value: object) -> str:
    """A CSV cell that spreadsheets will not run as a formula (user agents come from the client)."""
    return safe_cell(value)


def audit_csv_rows(events: QuerySet[AuditEvent], *, tz: ZoneInfo) -> Iterator[list[str]]:
    """The header, then one row per event, streamed from a server-side cursor in batches."""
    yield list(CSV_HEADER)
    fields = (
        "seq",
        "occurred_at",
        "actor_label",
        "actor_id",
        "action",
        "object_type",
        "object_id",
        "location_id",
        "changed_fields",
        "ip",
        "user_agent",
        "metadata",
        "prev_hash",
        "row_hash",
    )
    for row in events.values_list(*fields).iterator(chunk_size=EXPORT_BATCH_SIZE):
        (seq, occurred_at, label, actor_id, action, otype, oid, location_id, changed, ip, agent, meta, prev, own) = row
        yield [
            str(seq),
            occurred_at.astimezone(tz).isoformat(),
            _cell(label),
            _cell(actor_id),
            _cell(action),
            _cell(otype),
            _cell(oid),
            _cell(location_id),
            _cell(";".join(changed)),
            _cell(ip),
            _cell(agent),
            _cell(json.dumps(meta, sort_keys=True, separators=(",", ":"))),
            prev,
            own,
        ]
