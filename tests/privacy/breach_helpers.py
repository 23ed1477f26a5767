"""Helpers for the breach-register tests: an incident recorded by the clinic's owner."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.models import User
from privacy.breaches import breach_create
from privacy.models import BreachIncident
from tests.privacy.helpers import owner


def incident(
    seeded: Any,
    *,
    discovered_at: dt.datetime,
    kind: str = BreachIncident.Kind.STAFF_ACCOUNT,
    account: User | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    **fields: Any,
) -> BreachIncident:
    if kind == BreachIncident.Kind.STAFF_ACCOUNT and account is None:
        account = User.objects.get(pk=seeded.users["front_desk"].pk)
    return breach_create(
        actor=owner(seeded),
        title="Front-desk account used from an unknown device",
        kind=kind,
        discovered_at=discovered_at,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        account=account,
        **fields,
    )
