"""Writes about staff, roles, locations and API tokens. Every function audits inside its transaction."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User


def user_validate_password(password: str, *, email: str = "", full_name: str = "", user: User | None = None) -> None:
    """Django's validators (min 12 chars, common, numeric, similar to the user's name or email)."""
    probe = user or User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=probe)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def password_set_url(user: User) -> str:
    """Path of a one-time link for setting a password (invitations, resets). Used once: the token
    depends on the password hash and last login, so setting a password invalidates it."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/set-password/{uid}/{default_token_generator.make_token(user)}"
