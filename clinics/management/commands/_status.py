"""Shared body of `clinic_suspend` and `clinic_activate`."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.models import Clinic
from clinics.services import clinic_set_status


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


class StatusCommand(BaseCommand):
    target_status: str = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="The clinic's address, e.g. sunrise-dental")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Clinic.objects.filter(slug=options["slug"].strip().lower()).first()
        if clinic is None:
            raise CommandError(f"No clinic with the address {options['slug']!r}.")
        previous = clinic.status
        try:
            clinic_set_status(clinic=clinic, status=self.target_status, actor=None, reason=options.get("reason") or "")
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        label = clinic.get_status_display().lower()
        if previous == clinic.status:
            self.stdout.write(f"Clinic {clinic.slug} is already {label}; nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Clinic {clinic.slug} is now {label} (was {previous})."))
