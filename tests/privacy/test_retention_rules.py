"""The clinical and billing retention rules purge what the law no longer keeps, and skip patients
under legal hold (as the WhatsApp rules do)."""

from __future__ import annotations

import datetime as dt

import time_machine
from django_tenants.utils import tenant_context

from audit.retention import retention_run
from billing.models import Invoice
from clinical.models import Visit
from messaging.models import Contact, InboundMessage
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import invoice, visit

NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


def test_clinical_and_billing_purges_go_at_the_boundary_and_skip_legal_hold(clinic_a):
    with time_machine.travel(NOW, tick=False):
        old = make_patient(clinic_a, date_of_birth=dt.date(1970, 1, 1))
        young = make_patient(clinic_a, date_of_birth=dt.date(1970, 1, 1))
        held = make_patient(clinic_a, date_of_birth=dt.date(1970, 1, 1), legal_hold_at=NOW, legal_hold_reason="Case")
        with tenant_context(clinic_a.clinic):
            gone = visit(clinic_a, old, dt.datetime(2016, 12, 8, tzinfo=dt.UTC))
            kept = visit(clinic_a, young, dt.datetime(2016, 12, 9, 12, tzinfo=dt.UTC))
            hold = visit(clinic_a, held, dt.datetime(2010, 1, 1, tzinfo=dt.UTC))
            fy17, fy18 = invoice(clinic_a, old, 2017), invoice(clinic_a, young, 2018)
            held_invoice = invoice(clinic_a, held, 2010)
            contact = Contact.objects.create(wa_id="919800000001", patient=held)
            sent = NOW - dt.timedelta(days=200)
            message = InboundMessage.objects.create(
                contact=contact, vendor_message_id="wamid.h", kind="text", body="Report?", sent_at=sent
            )
            run = retention_run(now=NOW)
            assert run.counts["patients.clinical_records"] == 1 and run.counts["billing.records"] == 1
            assert not Visit.objects.filter(pk=gone.pk).exists()
            assert Visit.objects.filter(pk__in=[kept.pk, hold.pk]).count() == 2
            left = Invoice.objects.filter(pk__in=[fy17.pk, fy18.pk, held_invoice.pk]).values_list("pk", flat=True)
            assert set(left) == {fy18.pk, held_invoice.pk}
            message.refresh_from_db()
            assert message.body == "Report?" and message.purged_at is None
