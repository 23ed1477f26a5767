from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.management.commands._status import validation_message
from clinics.services import clinic_create


class Command(BaseCommand):
    help = "Create a clinic (tenant) by cloning the template schema, with default roles, a location and an owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="Sub-domain and schema name, e.g. sunrise-dental")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", default="")
        parser.add_argument("--owner-password", default=None, help="Omit to print a one-time set-password link")
        parser.add_argument("--contact-email", default="", help="Defaults to the owner's email")
        parser.add_argument("--gstin", default="", help="15-character GSTIN; format and check digit are validated")
        parser.add_argument("--billing-address", default="")
        parser.add_argument("--billing-state", default="")
        parser.add_argument("--timezone", default="Asia/Kolkata")
        parser.add_argument("--location", action="append", dest="locations", help="Repeat for several branches")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = clinic_create(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                owner_name=options["owner_name"],
                owner_password=options["owner_password"],
                contact_email=options["contact_email"],
                gstin=options["gstin"],
                billing_address=options["billing_address"],
                billing_state=options["billing_state"],
                timezone=options["timezone"],
                locations=tuple(options["locations"] or ("Main clinic",)),
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Created clinic {created.clinic.name} at {created.url}"))
        if created.set_password_url:
            self.stdout.write(f"Owner {created.owner.email}: set a password at {created.set_password_url}")
