from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from audit.chain import REKEY_BATCH_SIZE, AuditChainBroken, audit_rekey, audit_schemas


class Command(BaseCommand):
    help = (
        "Re-seal the audit chain of every clinic and of the public schema (or of one clinic) with the primary "
        "key of DOCOS_ENCRYPTION_KEYS: run it after deploying keyed audit chains (rows written before have no "
        "key id), and after putting a new key first in the ring, before dropping the old key. Each chain is "
        "verified first, every row with the key its key id names; a broken chain, or one with rows whose key "
        "is not in the ring, is left alone and reported (exit status 1) unless --force, which re-seals it as "
        "it is (the forced re-key is recorded in the chain). Rows are re-sealed oldest first, in batches, each "
        "its own transaction under the chain lock; an interrupted run leaves a chain that verifies, and the "
        "next run continues it. A run on a chain already sealed with the primary key changes nothing. "
        "Rows without a key id (written before audit chains were keyed) are refused unless --accept-unkeyed: "
        "use it once, right after upgrading, since a chain someone rewrote as unkeyed without the key looks "
        "the same."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", metavar="SLUG", help='Only this clinic ("public" for the public schema)')
        parser.add_argument("--batch-size", type=int, default=REKEY_BATCH_SIZE, help="Rows re-sealed per transaction")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Re-seal chains that fail verification (or cannot be verified) as they are",
        )
        parser.add_argument(
            "--accept-unkeyed",
            action="store_true",
            help="Accept rows written before the chain was keyed (plain SHA-256) at the start of a chain",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 2:
            raise CommandError("--batch-size must be at least 2.")
        try:
            schemas = audit_schemas(options["clinic"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        failed = 0
        for label, schema in schemas:
            try:
                with schema_context(schema):
                    result = audit_rekey(
                        batch_size=options["batch_size"],
                        force=options["force"],
                        accept_unkeyed=options["accept_unkeyed"],
                    )
            except AuditChainBroken as exc:
                failed += 1
                self.stdout.write(
                    self.style.ERROR(
                        f"NOT RE-KEYED {label} ({schema}): the chain does not verify: {exc.problem}. "
                        "Nothing was changed; use --force to re-seal it as it is."
                    )
                )
                continue
            except ValidationError as exc:
                failed += 1
                self.stdout.write(self.style.ERROR(f"NOT RE-KEYED {label} ({schema}): {' '.join(exc.messages)}"))
                continue
            forced = f" (forced past: {result.forced_past})" if result.forced_past is not None else ""
            if result.rows_rekeyed:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{label} ({schema}): re-sealed {result.rows_rekeyed} rows with key {result.key_id} "
                        f"in {result.batches} batch(es){forced}"
                    )
                )
            else:
                self.stdout.write(f"{label} ({schema}): 0 to do, every row is sealed with key {result.key_id}")
        if failed:
            raise CommandError(f"{failed} of {len(schemas)} audit chain(s) were not re-keyed.", returncode=1)
