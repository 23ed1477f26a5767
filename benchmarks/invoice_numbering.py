"""Invoice numbering under concurrency: 20 issuers x N invoices at one location.

    python -m benchmarks.invoice_numbering [N]      (default N = 500: 10,000 invoices)

Creates a clinic in a throwaway database, N x 20 draft invoices with one line each, then 20
threads (each with its own database connection) issue them at once through
`billing.services.invoice_issue`, which takes the number from the location's counter row under
SELECT ... FOR UPDATE and writes the audit event in the same transaction. Reports invoices issued
per second, and checks that the serials are exactly 1..20N: gaps 0, duplicates 0.
"""

from __future__ import annotations

import sys
import threading
import time
from decimal import Decimal
from typing import Any

from benchmarks._support import bench_database, positive_int, say

ISSUERS = 20


def run(per_issuer: int) -> bool:
    from django.db import connection, connections
    from django_tenants.utils import tenant_context

    from accounts.models import Location, User
    from billing import services
    from billing.models import Invoice, InvoiceLine
    from clinics.services import clinic_create
    from patients.models import Patient

    created = clinic_create(
        slug="bench-billing", name="Bench Billing Clinic", owner_email="owner@bench-billing.example.in",
        owner_password="correct-horse-battery-42", gstin="29AAGCS1234K1Z7", billing_state="Karnataka",
        locations=("Koramangala",),
    )  # fmt: skip
    clinic, owner = created.clinic, created.owner
    total = ISSUERS * per_issuer
    with tenant_context(clinic):
        location = Location.objects.get()
        item = services.price_item_create(
            actor=owner, name="Consultation", kind="service", sac_hsn="999312", tax_class="health_exempt",
            default_price=Decimal("600"),
        )  # fmt: skip
        patient = Patient.objects.create(
            mrn="B-1", given_name="Anil", family_name="Kumble", registered_location=location
        )
        invoices = Invoice.objects.bulk_create(
            [Invoice(patient=patient, location=location, created_by=owner) for _ in range(total)], batch_size=2000
        )
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    invoice=invoice,
                    position=1,
                    item=item,
                    description=item.name,
                    sac_hsn=item.sac_hsn,
                    tax_class=item.tax_class,
                    unit_price=item.default_price,
                )
                for invoice in invoices
            ],
            batch_size=2000,
        )
        ids = [invoice.pk for invoice in invoices]
    connection.set_schema_to_public()
    say(f"{total} drafts ready; {ISSUERS} issuers start")
    barrier = threading.Barrier(ISSUERS + 1)
    errors: list[BaseException] = []

    def issuer(chunk: list[Any]) -> None:
        try:
            connection.set_tenant(clinic)
            actor = User.objects.select_related("role").get(pk=owner.pk)
            barrier.wait()
            for invoice_id in chunk:
                services.invoice_issue(actor=actor, invoice=Invoice.objects.get(pk=invoice_id))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issuer, args=(ids[i::ISSUERS],)) for i in range(ISSUERS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with tenant_context(clinic):
        serials = list(Invoice.objects.filter(location=location).values_list("serial", flat=True))
        numbers = list(Invoice.objects.values_list("number", flat=True))
    connection.set_schema_to_public()
    issued = sorted(s for s in serials if s is not None)
    duplicates = len(issued) - len(set(issued))
    gaps = (max(issued) - len(set(issued))) if issued else 0
    longest = max((len(n) for n in numbers), default=0)
    print(f"issuers: {ISSUERS} x {per_issuer} = {total} invoices in {elapsed:.1f} s: {total / elapsed:.0f} invoices/s")
    print(f"issued {len(issued)}, gaps {gaps}, duplicates {duplicates}, errors {len(errors)}, longest number {longest}")
    ok = not errors and len(issued) == total and gaps == 0 and duplicates == 0 and longest <= 16
    print(f"target: gaps 0, duplicates 0: {'PASS' if ok else 'FAIL'}")
    if errors:
        print(f"first error: {errors[0]!r}")
    return ok


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    per_issuer = positive_int(args, 0, 500) or 500
    with bench_database("invoice_numbering"):
        ok = run(per_issuer)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
