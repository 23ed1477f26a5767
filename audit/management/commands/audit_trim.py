import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.chain import TRIM_BATCH_SIZE, AuditChainBroken, audit_schemas, audit_trim


class Command(BaseCommand):
    help = (
        "Delete audit events older than N days, oldest first, for every clinic and the public schema (or one "
        "clinic). Each batch writes a trim checkpoint (seq and hash of the last deleted row) and an audit.trim "
        "event, so audit_verify still passes afterwards. A batch whose rows fail verification is not deleted: "
        "the command reports it and exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, required=True, metavar="N")
        parser.add_argument("--clinic", metavar="SLUG", help='Only this clinic ("public" for the public schema)')
        parser.add_argument("--batch-size", type=int, default=TRIM_BATCH_SIZE, help="Rows deleted per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        days: int = options["older_than_days"]
        if days < 1:
            raise CommandError("--older-than-days must be at least 1.")
        before = timezone.now() - dt.timedelta(days=days)
        try:
            schemas = audit_schemas(options["clinic"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        failed = 0
        for label, schema in schemas:
            try:
                with schema_context(schema):
                    result = audit_trim(
                        before=before,
                        batch_size=options["batch_size"],
                        reason=f"audit_trim --older-than-days {days}",
                    )
            except (AuditChainBroken, ValidationError) as exc:
                failed += 1
                self.stdout.write(self.style.ERROR(f"NOT TRIMMED {label} ({schema}): {exc}"))
                continue
            if result.rows_trimmed:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{label} ({schema}): trimmed {result.rows_trimmed} rows through #{result.through_seq} "
                        f"in {result.checkpoints} batch(es)"
                    )
                )
            else:
                self.stdout.write(f"{label} ({schema}): nothing older than {days} days")
        if failed:
            raise CommandError(f"{failed} of {len(schemas)} audit chain(s) were not trimmed.", returncode=1)
