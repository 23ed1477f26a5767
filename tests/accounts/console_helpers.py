"""Helpers for the settings console tests."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from audit.models import AuditEvent


def fresh(seeded: Any, user: User) -> User:
    """Re-read a seeded user (session-scoped objects may carry caches from earlier tests)."""
    with tenant_context(seeded.clinic):
        return User.objects.select_related("role").get(pk=user.pk)


def get_user(seeded: Any, **lookup: Any) -> User | None:
    with tenant_context(seeded.clinic):
        return User.objects.select_related("role").filter(**lookup).first()


def role(seeded: Any, slug: str) -> Role:
    with tenant_context(seeded.clinic):
        return Role.objects.get(slug=slug)


def make_user(seeded: Any, email: str, role_slug: str | None, *, locations: list[Location] = (), **extra: Any) -> User:
    with tenant_context(seeded.clinic):
        user = User.objects.create_user(
            email,
            "correct-horse-battery-42",
            full_name=extra.pop("full_name", email.split("@")[0].title()),
            role=Role.objects.get(slug=role_slug) if role_slug else None,
            **extra,
        )
        user.locations.set(locations)
        user = User.objects.select_related("role").get(pk=user.pk)
    connection.set_schema_to_public()
    return user


def make_role(seeded: Any, name: str, capabilities: list[str]) -> Role:
    from django.utils.text import slugify

    with tenant_context(seeded.clinic):
        return Role.objects.create(slug=slugify(name), name=name, capabilities=sorted(capabilities))


def audit_events(seeded: Any, action: str) -> list[AuditEvent]:
    with tenant_context(seeded.clinic):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login")
