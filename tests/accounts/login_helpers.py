"""Helpers for the sign-in tests: drive the login steps, read sessions and audit events."""

from __future__ import annotations

import re
import time
from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import SeededClinic


def start(client: Any, email: str) -> Any:
    response = client.post("/login", {"email": email})
    assert response.status_code == 302 and response["Location"] == "/login/verify", response
    return response


def password_login(client: Any, email: str, password: str) -> Any:
    start(client, email)
    return client.post("/login/verify", {"password": password})


def request_code(client: Any, email: str, purpose: str = "login") -> Any:
    start(client, email)
    return client.post("/login/code/send", {"purpose": purpose})


def signed_in_user_id(client: Any, seeded: SeededClinic) -> str | None:
    """The user id of the client's session as the server sees it (None when signed out)."""
    response = client.get("/session/status")
    if response.status_code != 200 or not response.json().get("authenticated"):
        return None
    with tenant_context(seeded.clinic):
        user_id = client.session.get("_auth_user_id")
    connection.set_schema_to_public()
    return user_id


def audit_actions(seeded: SeededClinic, **filters: Any) -> list[AuditEvent]:
    with tenant_context(seeded.clinic):
        events = list(AuditEvent.objects.filter(**filters).order_by("seq"))
    connection.set_schema_to_public()
    return events


def shift_session(client: Any, seeded: SeededClinic, **seconds_ago: float) -> None:
    """Move the session's timestamps into the past: shift_session(c, clinic_a, docos_last_seen=3600)."""
    with tenant_context(seeded.clinic):
        session = client.session
        for key, ago in seconds_ago.items():
            session[key] = time.time() - ago
        session.save()
    connection.set_schema_to_public()


def without_csrf(html: bytes) -> bytes:
    """Page content minus the per-request CSRF token, to compare two pages."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)
