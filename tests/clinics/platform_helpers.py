"""Public-schema users for the platform console tests: DocOS platform staff (with TOTP) and a
public-schema user who is not platform staff, and clients on the public domain signed in as them."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import User
from accounts.services import platform_staff_save

PLATFORM_PASSWORD = "platform-ops-passphrase-26"
PLATFORM_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def platform_staff(db: Any) -> User:
    connection.set_schema_to_public()
    user, _, _ = platform_staff_save(
        email="ops@docos.test", password=PLATFORM_PASSWORD, full_name="Nandini Rao", totp_secret=PLATFORM_TOTP
    )
    return user


@pytest.fixture
def public_non_staff(db: Any) -> User:
    """A public-schema account that is not platform staff (e.g. a sign-up contact)."""
    connection.set_schema_to_public()
    user = User.objects.create_user("signup@docos.test", PLATFORM_PASSWORD, full_name="Arjun Mehta")
    user.totp_secret = PLATFORM_TOTP
    user.save()
    return user


def public_client(user: User | None = None) -> Client:
    client = Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN)
    if user is not None:
        connection.set_schema_to_public()
        client.force_login(user, backend="accounts.backends.EmailBackend")
    return client


def totp_now(secret: str = PLATFORM_TOTP) -> str:
    return str(pyotp.TOTP(secret).now())
