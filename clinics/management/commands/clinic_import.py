"""Restore a clinic export (the ZIP the owner downloaded when closing the clinic) into a new clinic.

    python manage.py clinic_import docos-alpha-2026-12-05.zip --slug alpha-restored [--name "Alpha Clinic"]
        [--sha256 <the archive's SHA-256 from the deletion certificate or the off-boarding record>]

With --sha256 the ZIP itself must be the one DocOS built (the manifest inside is not signed, so this is
how a restore proves the archive was not edited since). Every file's SHA-256 and every table's row count
are checked first; the rows and files are then encrypted again under the new clinic's keys. All or
nothing: a failure leaves no clinic behind."""

from __future__ import annotations

import hashlib
import hmac
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
        parser.add_argument("--sha256", default="", help="Refuse the ZIP unless its SHA-256 is this (hex)")

    def handle(self, *args: Any, **options: Any) -> None:
        expected = options["sha256"].strip().lower()
        if expected:
            digest = hashlib.sha256()
            try:
                with open(options["archive"], "rb") as archive:
                    for block in iter(lambda: archive.read(1 << 20), b""):
                        digest.update(block)
            except OSError as exc:
                raise CommandError(f"Import failed, nothing was kept: {exc}") from exc
            if not hmac.compare_digest(digest.hexdigest(), expected):
                raise CommandError(
                    "Import refused, nothing was kept: the ZIP's SHA-256 is not the one given "
                    "(a different or altered archive)."
                )
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
