"""Helpers for the registry tests: register patients through the services, in a clinic's schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tenants.utils import tenant_context

from accounts.models import User
from patients.models import Patient
from patients.services import patient_create

_counter = {"n": 0}


def unique_mobile() -> str:
    """A valid Indian mobile number not used by another test patient."""
    _counter["n"] += 1
    return f"+9198{_counter['n'] + 10000000:08d}"


def register(seeded: Any, *, actor_role: str = "owner", location_index: int = 0, **fields: Any) -> Patient:
    """Register a patient through patient_create (keys, MRN, audit), as `actor_role`."""
    defaults: dict[str, Any] = {
        "given_name": "Asha",
        "family_name": "Verma",
        "sex": "F",
        "date_of_birth": dt.date(1985, 3, 14),
        "phone": unique_mobile(),
        "registered_location": seeded.locations[location_index],
    }
    defaults.update(fields)
    confirmed = defaults.pop("duplicates_confirmed", True)
    with tenant_context(seeded.clinic):
        actor = User.objects.get(pk=seeded.users[actor_role].pk)
        patient = patient_create(actor=actor, duplicates_confirmed=confirmed, **defaults)
    return patient


def user(seeded: Any, role: str) -> User:
    with tenant_context(seeded.clinic):
        found = User.objects.select_related("role").get(pk=seeded.users[role].pk)
    return found


def restrict(seeded: Any, role: str, location_index: int) -> User:
    """Restrict a seeded user to one location (rolled back with the test)."""
    with tenant_context(seeded.clinic):
        found = User.objects.get(pk=seeded.users[role].pk)
        found.locations.set([seeded.locations[location_index]])
    return found
