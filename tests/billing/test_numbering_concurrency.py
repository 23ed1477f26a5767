"""Invoice numbering under concurrency: 20 issuers in real threads, each with its own database
connection, issuing at one location at once. The numbers must be consecutive from 1, with no gap
and no duplicate, also when some issuing transactions roll back after taking a number.

The data must be committed for other connections to see it, so these tests use the committed
`throwaway_clinic` (dropped afterwards), not the rolled-back `db` transaction.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from django.db import connection, connections, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from billing import numbering, services
from billing.models import DocumentCounter, Invoice
from clinics.models import Clinic
from patients.models import Patient

ISSUERS = 20


def _prepare(clinic: Any, location: Any, owner: Any, count: int) -> list[Any]:
    Clinic.objects.filter(pk=clinic.pk).update(gstin="29AAGCS1234K1Z7")
    clinic.gstin = "29AAGCS1234K1Z7"
    with tenant_context(clinic):
        item = services.price_item_create(
            actor=owner, name="Consultation", kind="service", sac_hsn="999312", tax_class="health_exempt",
            default_price=Decimal("500"),
        )  # fmt: skip
        patient = Patient.objects.create(
            mrn="RACE-1", given_name="Suresh", family_name="Pillai", registered_location=location
        )
        ids = []
        for _ in range(count):
            invoice = services.invoice_create(actor=owner, patient=patient, location=location)
            services.invoice_add_line(actor=owner, invoice=invoice, item=item)
            ids.append(invoice.pk)
    connection.set_schema_to_public()
    return ids


def _race(clinic: Any, work: list[list[Any]], job: Any) -> list[Any]:
    barrier = threading.Barrier(len(work))
    errors: list[Any] = []

    def run(ids: list[Any]) -> None:
        try:
            connection.set_tenant(clinic)
            barrier.wait()
            for invoice_id in ids:
                job(invoice_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(ids,)) for ids in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_twenty_concurrent_issuers_make_consecutive_numbers(throwaway_clinic, django_db_blocker):
    clinic, location = throwaway_clinic.clinic, throwaway_clinic.locations[1]
    per_issuer = 3
    with django_db_blocker.unblock():
        ids = _prepare(clinic, location, throwaway_clinic.owner, ISSUERS * per_issuer)

        def issue(invoice_id: Any) -> None:
            actor = User.objects.select_related("role").get(pk=throwaway_clinic.owner.pk)
            services.invoice_issue(actor=actor, invoice=Invoice.objects.get(pk=invoice_id))

        errors = _race(clinic, [ids[i::ISSUERS] for i in range(ISSUERS)], issue)
        assert errors == []
        with tenant_context(clinic):
            serials = sorted(Invoice.objects.filter(location=location).values_list("serial", flat=True))
            numbers = set(Invoice.objects.values_list("number", flat=True))
            counter = DocumentCounter.objects.get(location=location, kind="invoice")
        connection.set_schema_to_public()
    assert serials == list(range(1, ISSUERS * per_issuer + 1))  # no gap, no duplicate
    assert len(numbers) == ISSUERS * per_issuer and all(len(n) <= 16 for n in numbers)
    assert counter.last_number == ISSUERS * per_issuer


def test_a_rolled_back_issue_gives_its_number_back(throwaway_clinic, django_db_blocker):
    """Half the issuers fail after taking their number (the transaction rolls back): the numbers
    the others got are still 1..N without a gap."""
    clinic, location = throwaway_clinic.clinic, throwaway_clinic.locations[1]

    class Abort(Exception):
        pass

    with django_db_blocker.unblock():
        ids = _prepare(clinic, location, throwaway_clinic.owner, ISSUERS)
        failing = set(ids[::2])

        def issue(invoice_id: Any) -> None:
            actor = User.objects.select_related("role").get(pk=throwaway_clinic.owner.pk)
            try:
                with transaction.atomic():
                    services.invoice_issue(actor=actor, invoice=Invoice.objects.get(pk=invoice_id))
                    if invoice_id in failing:
                        raise Abort
            except Abort:
                pass

        errors = _race(clinic, [[invoice_id] for invoice_id in ids], issue)
        assert errors == []
        with tenant_context(clinic):
            serials = sorted(
                s for s in Invoice.objects.filter(location=location).values_list("serial", flat=True) if s is not None
            )
            drafts = Invoice.objects.filter(location=location, status="draft").count()
        connection.set_schema_to_public()
    assert serials == list(range(1, ISSUERS // 2 + 1))
    assert drafts == ISSUERS // 2


def test_financial_years_run_april_to_march():
    import datetime as dt

    assert numbering.financial_year(dt.date(2027, 3, 31)) == 2026
    assert numbering.financial_year(dt.date(2027, 4, 1)) == 2027
    assert numbering.format_number("KORAM", 2026, 99999) == "KORAM/2627/99999"
    assert len(numbering.format_number("KORAM", 2026, 99999)) == 16
