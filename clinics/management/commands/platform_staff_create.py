"""`manage.py platform_staff_create <email> [--name N] [--password P] [--reset-totp]`: make (or update)
a DocOS platform staff account in the public schema, for the console at /platform/ on the public domain.

The password comes from `--password`, else the `DOCOS_PLATFORM_PASSWORD` environment variable, else a
prompt (asked twice; an existing account keeps its password when none is given). Platform staff always
sign in with a TOTP code too: a new account (or `--reset-totp`) gets a fresh secret, printed once with
its otpauth:// URI to add to an authenticator app.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

import pyotp
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from accounts.services import platform_staff_save


class Command(BaseCommand):
    help = "Create or update a DocOS platform staff account (public schema) with a password and TOTP."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="full name (default: the part of the email before @)")
        parser.add_argument("--password", default=None, help="else $DOCOS_PLATFORM_PASSWORD, else asked")
        parser.add_argument("--reset-totp", action="store_true", help="issue a new TOTP secret")

    def _password(self, given: str | None, *, existing: bool) -> str | None:
        password = given or os.environ.get("DOCOS_PLATFORM_PASSWORD")
        if password:
            return str(password)
        if existing:
            return None  # keep the current password
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        email = str(options["email"]).strip().lower()
        with schema_context(get_public_schema_name()):
            existing = User.objects.filter(email__iexact=email).exists()
        password = self._password(options["password"], existing=existing)
        try:
            user, created, secret = platform_staff_save(
                email=email, password=password, full_name=options["name"], reset_totp=options["reset_totp"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{'Created' if created else 'Updated'} platform staff {user.email}."))
        if secret:
            uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="DocOS platform")
            self.stdout.write(f"TOTP secret (add it to an authenticator app; shown once): {secret}")
            self.stdout.write(f"  {uri}")
