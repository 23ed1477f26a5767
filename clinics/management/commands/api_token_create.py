"""Create a personal API token for a clinic's staff member and print it (shown only this once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import api_token_create
from clinics.models import Clinic
from docos.tenancy import use_public_schema


class Command(BaseCommand):
    help = "Create an API token for a staff member of a clinic and print the secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="The clinic's slug, e.g. sunrise-dental")
        parser.add_argument("--email", required=True, help="The staff member's email")
        parser.add_argument("--name", default="Command-line token", help="What the token is for")
        parser.add_argument("--expires-days", type=int, default=None, help="Expire after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        use_public_schema()
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with the slug {options['clinic']!r}.")
        expires_at = None
        if options["expires_days"] is not None:
            if options["expires_days"] < 1:
                raise CommandError("--expires-days must be at least 1.")
            expires_at = timezone.now() + dt.timedelta(days=options["expires_days"])
        with tenant_context(clinic):
            user = User.objects.select_related("role").filter(email__iexact=options["email"].strip()).first()
            if user is None:
                raise CommandError(f"No staff member with that email at {clinic.name}.")
            try:
                _, secret = api_token_create(
                    user=user,
                    actor=None,
                    name=options["name"],
                    expires_at=expires_at,
                    metadata={"source": "manage.py api_token_create"},
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(secret)
