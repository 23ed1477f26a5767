from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django_tenants.utils import schema_context

from audit.chain import VERIFY_BATCH_SIZE, audit_chain_verify, audit_schemas
from docos.crypto import CryptoError


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident audit chain of every clinic and of the public schema (or of one clinic). "
        "Each chain is walked in seq order from its newest trim checkpoint, in batches; every row's HMAC-SHA256 "
        "is recomputed with the audit key derived from the key its key id names in DOCOS_ENCRYPTION_KEYS, its "
        "link to the previous row is checked, and the last row is checked against the chain head, which the "
        "writer updates in the same transaction as each event. Reports the first break per clinic (content "
        "changed, not keyed, row missing, link broken, head missing or mismatched, checkpoint invalid) and "
        "exits with status 1 if any chain is broken or cannot be verified (a row's key id is no longer in the "
        "key ring: put the old key back after the primary, or run audit_rekey before dropping a key). "
        "Detects: an SQL UPDATE of any column of a row, also when the attacker recomputes the row's hash (and "
        "the rest of the chain) without the key ring; an SQL DELETE of any row, including the newest ones "
        "(unless the head row is rewritten to match, see below); forged trim checkpoints. "
        "Limits: someone who holds DOCOS_ENCRYPTION_KEYS and can write to the database can rebuild the chain, "
        "head and checkpoints included, and this command will pass. To catch that, keep the head MAC printed "
        "for each clinic somewhere outside the database (a ticket, a write-once bucket) and compare later runs "
        "with it. Rows written before the chain was keyed fail as 'not keyed' until audit_rekey re-seals them. "
        "Gaps in seq alone are normal: a rolled-back transaction uses up a seq."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", metavar="SLUG", help='Only this clinic ("public" for the public schema)')
        parser.add_argument("--batch-size", type=int, default=VERIFY_BATCH_SIZE, help="Rows fetched per round trip")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            schemas = audit_schemas(options["clinic"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        failed = 0
        for label, schema in schemas:
            try:
                with schema_context(schema):
                    report = audit_chain_verify(batch_size=options["batch_size"])
            except (DatabaseError, CryptoError) as exc:
                failed += 1
                self.stdout.write(self.style.ERROR(f"ERROR  {label} ({schema}): could not be read: {exc}"))
                continue
            problem = report.problem
            if problem is None:
                head = f"head #{report.head_seq} {report.head_hash}" if report.head_seq else "empty"
                keys = f" (key {', '.join(report.key_ids)})" if report.key_ids else ""
                self.stdout.write(
                    self.style.SUCCESS(f"OK     {label} ({schema}): {report.rows_checked} rows verified{keys}, {head}")
                )
                continue
            failed += 1
            if problem.kind == "key_missing":
                self.stdout.write(
                    self.style.ERROR(
                        f"ERROR  {label} ({schema}): cannot verify from {problem} "
                        f"({report.rows_checked} rows verified before it)"
                    )
                )
            else:
                self.stdout.write(
                    self.style.ERROR(
                        f"BROKEN {label} ({schema}): first break at {problem} "
                        f"({report.rows_checked} rows verified before it)"
                    )
                )
        if failed:
            raise CommandError(f"{failed} of {len(schemas)} audit chain(s) failed verification.", returncode=1)
