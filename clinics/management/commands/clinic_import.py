"""Restore a clinic export (the ZIP the owner downloaded when closing the clinic) into a new clinic.

    python manage.py clinic_import docos-alpha-2026-12-05.zip --slug alpha-restored [--name "Alpha Clinic"]

Every file's SHA-256 and every table's row count are checked first; the rows and files are then
encrypted again under the new clinic's keys. All or nothing: a failure leaves no clinic behind."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.archive import archive_import


class Command(BaseCommand):
    help = "Restore a clinic export ZIP into a new clinic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The export ZIP (as downloaded, decrypted)")
        parser.add_argument("--slug", required=True, help="The new clinic's address")
        parser.add_argument("--name", default="", help="The new clinic's name (default: the exported one)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = archive_import(options["archive"], slug=options["slug"], name=options["name"])
        except (ValidationError, OSError) as exc:
            raise CommandError(
                f"Import failed, nothing was kept: {'; '.join(getattr(exc, 'messages', [str(exc)]))}"
            ) from exc
        rows = sum(result.tables.values())
        self.stdout.write(
            f"Imported clinic {result.clinic.slug!r}: {rows} rows in {len(result.tables)} tables, {result.files} files."
        )
