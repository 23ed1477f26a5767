"""Staff restricted to Main branch and patients and visits at either branch (index 0: East, 1: Main)."""

from __future__ import annotations

import uuid
from typing import Any

from django_tenants.utils import tenant_context

from accounts.models import Role, User
from clinical.models import Visit
from patients.models import Patient
from tests.patients.registry_helpers import register

PASSWORD = "correct-horse-battery-42"


def main_only(clinic: Any, role: str) -> User:
    """A new user of the built-in `role` who works at Main branch only."""
    with tenant_context(clinic.clinic):
        user = User.objects.create_user(
            f"{role}-main-{uuid.uuid4().hex[:6]}@alpha.example.in",
            PASSWORD,
            full_name=f"Main {role.title()}",
            role=Role.objects.get(slug=role),
        )
        user.locations.set([clinic.locations[1]])
    return user


def branch_patient(clinic: Any, *, location: int, **fields: Any) -> Patient:
    """Registered through the service (MRN, search keys), by the unrestricted owner."""
    values: dict[str, Any] = {"given_name": f"Ishaan{uuid.uuid4().hex[:4]}", "family_name": "Bhatt"}
    values.update(fields)
    return register(clinic, location_index=location, **values)


def branch_visit(clinic: Any, patient: Patient, *, location: int, complaint: str = "") -> Visit:
    with tenant_context(clinic.clinic):
        return Visit.objects.create(
            patient=patient,
            location=clinic.locations[location],
            clinician=clinic.users["doctor"],
            chief_complaint=complaint,
        )
