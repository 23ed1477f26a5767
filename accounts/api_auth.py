"""`Authorization: Bearer docos_<secret>` for the API. Tokens live in the clinic's own schema,
so a token of clinic A is simply unknown (401) on clinic B's host.

A token obeys the same sign-in rules as a session: when the clinic requires two-factor
authentication for staff with administrative access and the token's user has not set it up,
the token answers 403 `two_factor_setup_required` (as a session does, accounts.middleware)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.middleware import TWO_FACTOR_SETUP_CODE, TWO_FACTOR_SETUP_MESSAGE
from accounts.models import ApiToken

TOKEN_PREFIX = "docos_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        if not secret.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        token = ApiToken.objects.select_related("user", "user__role").filter(token_hash=hash_token(secret)).first()
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.", code="invalid_token")
        # A token is no way around the clinic's 2FA rule: the session of this user would be held
        # at the setup page, so the token is refused (403: the token is valid, the user may not use it).
        from accounts.login import two_factor_setup_required  # here: accounts.login imports this module

        if two_factor_setup_required(token.user, getattr(request, "tenant", None)):
            raise exceptions.PermissionDenied(TWO_FACTOR_SETUP_MESSAGE, code=TWO_FACTOR_SETUP_CODE)
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the Bearer token in the OpenAPI schema (and the Swagger UI "Authorize" dialog)."""

    target_class = "accounts.api_auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token of this clinic: `Authorization: Bearer docos_...`.",
        }
