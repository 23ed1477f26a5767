"""Invoices through the services: drafts, issuing (kind, numbering, frozen rates), the state machine,
payments, advance deposits, refunds and credit notes, and the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from billing import services
from billing.access import invoice_access
from billing.models import Invoice, Payment
from clinical.models import Visit
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def billing(clinic_a):
    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        owner = staff(clinic_a, "owner")
        items = price_list(owner)
    patient = make_patient(clinic_a, given_name="Lakshmi", family_name="Narayanan")
    return {
        "seeded": clinic_a,
        "owner": owner,
        "desk": staff(clinic_a, "front_desk"),
        "items": items,
        "patient": patient,
    }


def _draft(b, *lines):
    desk = b["desk"]
    invoice = services.invoice_create(actor=desk, patient=b["patient"], location=b["seeded"].locations[0])
    for key, quantity in lines:
        services.invoice_add_line(actor=desk, invoice=invoice, item=b["items"][key], quantity=Decimal(quantity))
    invoice.refresh_from_db()
    return invoice


def test_exempt_only_invoice_is_a_bill_of_supply_with_a_number(billing):
    with tenant_context(billing["seeded"].clinic):
        invoice = _draft(billing, ("consult", "1"), ("dressing", "2"))
        assert invoice.number == "" and invoice.total == Decimal("1000.00")
        issued = services.invoice_issue(actor=billing["desk"], invoice=invoice)
        assert issued.kind == Invoice.Kind.BILL_OF_SUPPLY and issued.status == Invoice.Status.ISSUED
        assert issued.number == "EAS/2627/0001" and len(issued.number) <= 16
        assert issued.supplier_gstin == "29AAGCS1234K1Z7" and issued.place_of_supply == "29"
        assert issued.cgst == issued.sgst == issued.igst == 0


def test_taxable_lines_make_a_tax_invoice_split_into_cgst_and_sgst(billing):
    with tenant_context(billing["seeded"].clinic):
        invoice = _draft(billing, ("consult", "1"), ("botox", "1"), ("dolo", "3"))
        issued = services.invoice_issue(actor=billing["desk"], invoice=invoice)
        assert issued.kind == Invoice.Kind.TAX_INVOICE
        # Botox 8000 at 18%: 720 + 720; Dolo 3 x 33.60 = 100.80 at 5% (from 22 Sep 2025): 2.52 + 2.52.
        assert (issued.cgst, issued.sgst, issued.igst) == (Decimal("722.52"), Decimal("722.52"), Decimal("0.00"))
        assert issued.taxable_value == Decimal("8100.80") and issued.non_taxable_value == Decimal("500.00")
        assert issued.total == Decimal("10046.00") and issued.round_off == Decimal("0.16")
        rates = sorted(line.gst_rate for line in issued.lines.all())
        assert rates == [Decimal("0"), Decimal("5"), Decimal("18")]


def test_another_place_of_supply_charges_igst(billing):
    with tenant_context(billing["seeded"].clinic):
        invoice = _draft(billing, ("dolo", "10"))
        services.invoice_update_draft(actor=billing["desk"], invoice=invoice, place_of_supply="33")
        issued = services.invoice_issue(actor=billing["desk"], invoice=invoice)
        assert issued.inter_state and issued.igst == Decimal("16.80") and issued.cgst == 0


def test_a_taxable_invoice_needs_a_gstin(billing):
    seeded = billing["seeded"]
    set_gstin(seeded, "")
    with tenant_context(seeded.clinic):
        invoice = _draft(billing, ("botox", "1"))
        with pytest.raises(ValidationError):
            services.invoice_issue(actor=billing["desk"], invoice=invoice)
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT and invoice.number == ""


def test_issued_invoices_are_never_edited(billing):
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=billing["desk"], invoice=_draft(billing, ("consult", "1")))
        with pytest.raises(ValidationError):
            services.invoice_add_line(actor=billing["desk"], invoice=invoice, item=billing["items"]["dressing"])
        with pytest.raises(ValidationError):
            services.invoice_update_draft(actor=billing["desk"], invoice=invoice, invoice_discount=Decimal("10"))
        with pytest.raises(ValidationError):
            services.invoice_remove_line(actor=billing["desk"], invoice=invoice, line_id=invoice.lines.first().pk)
        with pytest.raises(ValidationError):
            services.invoice_issue(actor=billing["desk"], invoice=invoice)
        with pytest.raises(ValidationError):
            services.invoice_discard(actor=billing["desk"], invoice=invoice)


def test_status_follows_payments_issued_partly_paid_paid(billing):
    desk = billing["desk"]
    with tenant_context(billing["seeded"].clinic):
        invoice = _draft(billing, ("consult", "1"), ("dressing", "2"))
        with pytest.raises(ValidationError):
            services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("100"))
        invoice = services.invoice_issue(actor=desk, invoice=invoice)
        first = services.payment_record(
            actor=desk, invoice=invoice, mode="upi", amount=Decimal("400"), reference="UTR1"
        )
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PARTLY_PAID and invoice.balance == Decimal("600.00")
        assert first.receipt_number == "EASR/2627/0001"
        with pytest.raises(ValidationError):  # more than is due
            services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("600.01"))
        services.payment_record(actor=desk, invoice=invoice, mode="card", amount=Decimal("600"))
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID and invoice.balance == 0
        with pytest.raises(ValidationError):
            services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("1"))


def test_refunds_need_the_capability_and_a_reason_and_reopen_the_balance(billing):
    desk, owner = billing["desk"], billing["owner"]
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=desk, invoice=_draft(billing, ("consult", "1")))
        payment = services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("500"))
        with pytest.raises(PermissionDenied):  # the front desk has no billing.refund
            services.refund_record(actor=desk, payment=payment, amount=Decimal("100"), reason="Overcharged")
        with pytest.raises(ValidationError):
            services.refund_record(actor=owner, payment=payment, amount=Decimal("100"), reason="  ")
        with pytest.raises(ValidationError):
            services.refund_record(actor=owner, payment=payment, amount=Decimal("500.01"), reason="Too much")
        refund = services.refund_record(actor=owner, payment=payment, amount=Decimal("200"), reason="Goodwill")
        assert refund.kind == Payment.Kind.REFUND and refund.mode == "cash" and refund.refund_of == payment
        invoice.refresh_from_db()
        assert invoice.paid == Decimal("300.00") and invoice.status == Invoice.Status.PARTLY_PAID
        assert services.refundable(payment) == Decimal("300.00")


def test_advance_deposits_pay_invoices_and_the_balance_is_kept(billing):
    desk, owner, patient = billing["desk"], billing["owner"], billing["patient"]
    location = billing["seeded"].locations[0]
    with tenant_context(billing["seeded"].clinic):
        deposit = services.deposit_record(
            actor=desk, patient=patient, location=location, mode="upi", amount=Decimal("2000")
        )
        assert services.advance_balance(patient) == Decimal("2000.00")
        invoice = services.invoice_issue(actor=desk, invoice=_draft(billing, ("consult", "1"), ("dressing", "1")))
        services.payment_record(actor=desk, invoice=invoice, mode="advance", amount=Decimal("750"))
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        assert services.advance_balance(patient) == Decimal("1250.00")
        with pytest.raises(ValidationError):  # more than is left of the deposit
            services.refund_record(actor=owner, payment=deposit, amount=Decimal("1250.01"), reason="Leaving")
        services.refund_record(actor=owner, payment=deposit, amount=Decimal("1250"), reason="Procedure not needed")
        assert services.advance_balance(patient) == 0
        second = services.invoice_issue(actor=desk, invoice=_draft(billing, ("consult", "1")))
        with pytest.raises(ValidationError):
            services.payment_record(actor=desk, invoice=second, mode="advance", amount=Decimal("1"))


def test_a_full_credit_note_cancels_the_invoice_to_the_rupee(billing):
    desk, owner = billing["desk"], billing["owner"]
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=desk, invoice=_draft(billing, ("botox", "1"), ("dolo", "3")))
        with pytest.raises(PermissionDenied):
            services.credit_note_issue(actor=desk, invoice=invoice, reason="Wrong patient")
        note = services.credit_note_issue(actor=owner, invoice=invoice, reason="Wrong patient")
        invoice.refresh_from_db()
        assert note.number == "EASC/2627/0001"
        assert note.total == invoice.total and note.cgst == invoice.cgst and note.sgst == invoice.sgst
        assert invoice.status == Invoice.Status.CANCELLED and invoice.balance == 0
        with pytest.raises(ValidationError):
            services.credit_note_issue(actor=owner, invoice=invoice, reason="Again")
        with pytest.raises(ValidationError):
            services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("1"))


def test_partial_credit_notes_add_up_to_the_line(billing):
    desk, owner = billing["desk"], billing["owner"]
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=desk, invoice=_draft(billing, ("consult", "1"), ("dolo", "3")))
        dolo = invoice.lines.get(description="Dolo 650 strip")
        services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=invoice.total)
        first = services.credit_note_issue(
            actor=owner, invoice=invoice, reason="Returned", quantities={dolo.pk: Decimal("1")}
        )
        second = services.credit_note_issue(
            actor=owner, invoice=invoice, reason="Returned", quantities={dolo.pk: Decimal("2")}
        )
        assert first.total + second.total == dolo.total
        assert first.cgst + second.cgst == dolo.cgst
        with pytest.raises(ValidationError):
            services.credit_note_issue(actor=owner, invoice=invoice, reason="x", quantities={dolo.pk: Decimal("1")})
        invoice.refresh_from_db()
        assert invoice.credited == dolo.total and invoice.status == Invoice.Status.PAID  # overpaid: refund due
        payment = invoice.payments.get()
        services.refund_record(actor=owner, payment=payment, amount=dolo.total, reason="Medicines returned")
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID and invoice.balance == 0


def test_invoice_from_a_visit_suggests_the_consultation_and_procedures_done(billing):
    seeded = billing["seeded"]
    with tenant_context(seeded.clinic):
        visit = Visit.objects.create(
            patient=billing["patient"], location=seeded.locations[0], clinician=seeded.users["doctor"],
            procedures_performed="Wound cleaned; dressing applied",
        )  # fmt: skip
        invoice = services.invoice_create_for_visit(actor=billing["desk"], visit=visit)
        assert [line.description for line in invoice.lines.all()] == ["Consultation", "Dressing"]
        assert services.invoice_create_for_visit(actor=billing["desk"], visit=visit) == invoice  # the draft again


def test_every_money_event_is_audited_with_ids_only(billing):
    desk, owner = billing["desk"], billing["owner"]
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=desk, invoice=_draft(billing, ("consult", "1")))
        payment = services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("500"))
        services.refund_record(actor=owner, payment=payment, amount=Decimal("500"), reason="Lakshmi asked")
        services.credit_note_issue(actor=owner, invoice=invoice, reason="Lakshmi cancelled")
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"invoice.issue", "payment.record", "payment.refund", "credit_note.issue"} <= actions
        for event in AuditEvent.objects.filter(action__in=["payment.refund", "credit_note.issue", "invoice.issue"]):
            assert "Lakshmi" not in str(event.metadata) and "Narayanan" not in str(event.metadata)


def test_invoices_of_another_branch_or_without_the_capability_are_404(billing):
    from tests.clinical.clinical_helpers import restrict

    seeded = billing["seeded"]
    with tenant_context(seeded.clinic):
        invoice = services.invoice_issue(actor=billing["desk"], invoice=_draft(billing, ("consult", "1")))
        assert invoice_access(user=staff(seeded, "owner"), invoice_id=invoice.pk) == invoice
        main_only = restrict(seeded, "owner", 1)  # invoice made at East branch
        with pytest.raises(Http404):
            invoice_access(user=main_only, invoice_id=invoice.pk)
        with pytest.raises(Http404):  # the nurse has no billing.view
            invoice_access(user=staff(seeded, "nurse"), invoice_id=invoice.pk)
        with pytest.raises(Http404):  # the doctor may view, not collect
            invoice_access(user=staff(seeded, "doctor"), invoice_id=invoice.pk, capability="billing.collect")
        with pytest.raises(Http404):
            invoice_access(user=staff(seeded, "owner"), invoice_id="not-a-uuid")


def test_another_clinics_invoice_is_404(billing, clinic_b):
    with tenant_context(billing["seeded"].clinic):
        invoice = services.invoice_issue(actor=billing["desk"], invoice=_draft(billing, ("consult", "1")))
    with tenant_context(clinic_b.clinic):
        with pytest.raises(Http404):
            invoice_access(user=staff(clinic_b, "owner"), invoice_id=invoice.pk)
