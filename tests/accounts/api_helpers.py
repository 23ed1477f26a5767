"""Helpers for API tests: personal tokens created straight through the model (sha256 stored)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.api_auth import TOKEN_PREFIX, hash_token
from accounts.models import ApiToken, User


def make_token(
    seeded: Any,
    user: User,
    *,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
    name: str = "test token",
) -> str:
    """Create an API token for `user` in `seeded`'s schema; return the secret (shown once in real life)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with tenant_context(seeded.clinic):
        ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[:12],
            token_hash=hash_token(secret),
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    connection.set_schema_to_public()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error of that status (and code); return its "error" object."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error
