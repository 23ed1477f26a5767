"""Two seeded clinics, each with two locations and one user per built-in role.

The clinics are created once per test session (committed, like a real deployment). Each test
runs inside a transaction that is rolled back, so tests may change users and settings freely.
Requests go through the real middleware stack with the clinic's Host header.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from clinics.models import Clinic
from clinics.services import clinic_create
from docos.capabilities import BUILTIN_ROLES
from docos.tenancy import clinic_host
from tests.celery_worker import celery_worker, committed_test_database, throwaway_clinic  # noqa: F401  (a real worker)
from tests.clinics.platform_helpers import platform_staff, public_non_staff  # noqa: F401  (public-schema users)
from tests.clock import clock  # noqa: F401  (a pinned clock)
from tests.fake_vendors import fake_graph, fake_razorpay  # noqa: F401  (the fake WhatsApp Cloud API, Razorpay)

PASSWORD = "correct-horse-battery-42"
ROLE_SLUGS = tuple(BUILTIN_ROLES)


@dataclass
class SeededClinic:
    clinic: Clinic
    host: str
    users: dict[str, User] = field(default_factory=dict)
    locations: list[Location] = field(default_factory=list)

    @property
    def schema(self) -> str:
        return self.clinic.schema_name


def _seed(slug: str, name: str) -> SeededClinic:
    created = clinic_create(
        slug=slug,
        name=name,
        owner_email=f"owner@{slug}.example.in",
        owner_name=f"{name} Owner",
        owner_password=PASSWORD,
        locations=("Main branch", "East branch"),
    )
    seeded = SeededClinic(clinic=created.clinic, host=clinic_host(slug))
    with tenant_context(created.clinic):
        seeded.locations = list(Location.objects.order_by("name"))
        seeded.users["owner"] = created.owner
        for role_slug in ROLE_SLUGS:
            if role_slug == "owner":
                continue
            seeded.users[role_slug] = User.objects.create_user(
                f"{role_slug.replace('_', '-')}@{slug}.example.in",
                PASSWORD,
                full_name=f"{BUILTIN_ROLES[role_slug][0]} {name}",
                role=Role.objects.get(slug=role_slug),
            )
        seeded.users["no_role"] = User.objects.create_user(f"norole@{slug}.example.in", PASSWORD, full_name="No Role")
    return seeded


@pytest.fixture(scope="session")
def seeded_clinics(django_db_setup: Any, django_db_blocker: Any) -> dict[str, SeededClinic]:
    with django_db_blocker.unblock():
        clinics = {"a": _seed("alpha", "Alpha Clinic"), "b": _seed("beta", "Beta Hospital")}
        connection.set_schema_to_public()
    return clinics


@pytest.fixture
def clinic_a(seeded_clinics: dict[str, SeededClinic], db: Any) -> Iterator[SeededClinic]:
    yield seeded_clinics["a"]
    connection.set_schema_to_public()


@pytest.fixture
def clinic_b(seeded_clinics: dict[str, SeededClinic], db: Any) -> Iterator[SeededClinic]:
    yield seeded_clinics["b"]
    connection.set_schema_to_public()


class TenantClient(Client):
    """A test client bound to one clinic's host; `login_as` stores the session in that clinic's schema."""

    def __init__(self, seeded: SeededClinic, **kwargs: Any) -> None:
        super().__init__(HTTP_HOST=seeded.host, **kwargs)
        self.seeded = seeded

    def login_as(self, user: User) -> TenantClient:
        with tenant_context(self.seeded.clinic):
            self.force_login(user, backend="accounts.backends.EmailBackend")
        connection.set_schema_to_public()
        return self


@pytest.fixture
def client_for() -> Any:
    def make(seeded: SeededClinic, role: str | None = None, **kwargs: Any) -> TenantClient:
        client = TenantClient(seeded, **kwargs)
        if role is not None:
            client.login_as(seeded.users[role])
        return client

    return make


@pytest.fixture
def in_tenant() -> Any:
    """`with in_tenant(clinic_a): ...` runs ORM code inside that clinic's schema."""
    return lambda seeded: tenant_context(seeded.clinic)
