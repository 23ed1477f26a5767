"""The billing pages end to end: bill a visit in a few clicks, issue, collect, print; the chart
section, the home panel, the reports and their CSVs."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from billing import services
from billing.models import Invoice, Payment
from clinical.models import Visit
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def setup(clinic_a):
    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        items = price_list(staff(clinic_a, "owner"))
    patient = make_patient(clinic_a, given_name="Ramesh", family_name="Gowda", state="Karnataka", city="Mysuru")
    with tenant_context(clinic_a.clinic):
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"],
            procedures_performed="Dressing of the left forearm",
        )  # fmt: skip
    return {"items": items, "patient": patient, "visit": visit}


def _text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(page.extract_text() for page in reader.pages)


def test_front_desk_bills_a_visit_issues_collects_and_prints(clinic_a, client_for, setup, in_tenant):
    desk = client_for(clinic_a, "front_desk")
    response = desk.post(f"/billing/bill-visit/{setup['visit'].pk}")
    assert response.status_code == 302
    invoice_url = response["Location"]
    page = desk.get(invoice_url)
    assert page.status_code == 200 and "Consultation" in page.content.decode() and "Dressing" in page.content.decode()
    with in_tenant(clinic_a):
        invoice = Invoice.objects.get(visit=setup["visit"])
        dolo = setup["items"]["dolo"]
    assert desk.post(f"{invoice_url}lines", {"item": dolo.pk, "quantity": "2"}).status_code == 302
    assert desk.post(f"{invoice_url}issue").status_code == 302
    with in_tenant(clinic_a):
        invoice.refresh_from_db()
    assert invoice.kind == "tax_invoice" and invoice.number == "EAS/2627/0001"
    # 500 + 250 exempt, 2 x 33.60 = 67.20 at 5%: 1.68 + 1.68 -> 820.56 -> 821
    assert invoice.total == Decimal("821.00")
    assert desk.post(f"{invoice_url}pay", {"mode": "upi", "amount": "500", "reference": "UTR 4417"}).status_code == 302
    assert desk.post(f"{invoice_url}pay", {"mode": "cash", "amount": "321"}).status_code == 302
    with in_tenant(clinic_a):
        invoice.refresh_from_db()
    assert invoice.status == "paid"

    pdf = desk.get(f"{invoice_url}pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = _text(pdf)
    for expected in (
        "Tax invoice", "EAS/2627/0001", "29AAGCS1234K1Z7", "Place of supply", "Karnataka (29)", "999312",
        "30049099", "CGST", "SGST", "Eight Hundred Twenty-One", "Ramesh Gowda", "East branch",
    ):  # fmt: skip
        assert expected in text, expected
    with in_tenant(clinic_a):
        receipt = Payment.objects.filter(invoice=invoice).first()
    receipt_text = _text(desk.get(f"/billing/payments/{receipt.pk}/receipt"))
    assert "Receipt" in receipt_text and receipt.receipt_number in receipt_text


def test_issued_invoice_pages_offer_no_edits_and_refuse_them(clinic_a, client_for, setup, in_tenant):
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        services.invoice_issue(actor=desk, invoice=invoice)
    client = client_for(clinic_a, "front_desk")
    body = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Add a line" not in body and "Issue invoice" not in body
    client.post(f"/billing/invoices/{invoice.pk}/lines", {"item": setup["items"]["botox"].pk, "quantity": "1"})
    with in_tenant(clinic_a):
        assert invoice.lines.count() == 2


def test_credit_note_and_refund_pages_need_billing_refund(clinic_a, client_for, setup, in_tenant):
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        )
        payment = services.payment_record(actor=desk, invoice=invoice, mode="cash", amount=Decimal("750"))
    front = client_for(clinic_a, "front_desk")
    assert front.get(f"/billing/invoices/{invoice.pk}/credit-note").status_code == 403
    assert front.get(f"/billing/payments/{payment.pk}/refund").status_code == 403
    accounts = client_for(clinic_a, "accounts")
    response = accounts.post(f"/billing/invoices/{invoice.pk}/credit-note", {"whole": "1", "reason": "Billed twice"})
    assert response.status_code == 302
    response = accounts.post(f"/billing/payments/{payment.pk}/refund", {"amount": "750", "reason": "Billed twice"})
    assert response.status_code == 302
    with in_tenant(clinic_a):
        invoice.refresh_from_db()
        note = invoice.credit_notes.get()
    assert invoice.status == "cancelled" and invoice.paid == 0
    text = _text(accounts.get(f"/billing/credit-notes/{note.pk}/pdf"))
    assert "Credit note" in text and note.number in text and "Billed twice" in text


def test_chart_lists_invoices_and_home_shows_todays_collections(clinic_a, client_for, setup, in_tenant):
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        )
        services.payment_record(actor=desk, invoice=invoice, mode="upi", amount=Decimal("700"))
    client = client_for(clinic_a, "front_desk")
    chart = client.get(f"/patients/{setup['patient'].pk}/").content.decode()
    assert invoice.number in chart and "₹50.00 due" in chart
    home = client.get("/").content.decode()
    assert "Today&#x27;s collections" in home or "Today's collections" in home
    assert "East branch: ₹700.00 collected today (UPI ₹700.00)" in home
    nurse_chart = client_for(clinic_a, "nurse").get(f"/patients/{setup['patient'].pk}/").content.decode()
    assert invoice.number not in nurse_chart  # no billing.view


def test_reports_and_csv_cells_are_escaped(clinic_a, client_for, setup, in_tenant):
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        )
        services.payment_record(
            actor=desk, invoice=invoice, mode="card", amount=Decimal("100"), reference="=HYPERLINK(1)"
        )
        owner = staff(clinic_a, "owner")
        note_invoice = services.invoice_create(actor=desk, patient=setup["patient"], location=clinic_a.locations[0])
        services.invoice_add_line(actor=desk, invoice=note_invoice, item=setup["items"]["botox"])
        services.invoice_issue(actor=desk, invoice=note_invoice)
        services.credit_note_issue(actor=owner, invoice=note_invoice, reason="Not done")
    client = client_for(clinic_a, "accounts")
    location = clinic_a.locations[0].pk
    book = client.get(f"/billing/day-book/?location={location}&format=csv").content.decode()
    assert "'=HYPERLINK(1)" in book and "100.00" in book
    dues = client.get("/billing/outstanding/?format=csv").content.decode()
    assert invoice.number in dues and "650.00" in dues
    summary = client.get("/billing/gst-summary/?month=2026-12&format=csv").content.decode()
    assert "Invoices,18,1,8000.00,720.00,720.00,0.00" in summary
    assert "Credit notes,18,1,-8000.00,-720.00,-720.00,0.00" in summary
    assert "Invoices,0,1,750.00,0.00,0.00,0.00" in summary
    for url in (
        "/billing/day-book/",
        "/billing/outstanding/",
        "/billing/gst-summary/",
        "/billing/",
        "/billing/price-list/",
    ):
        assert client.get(url).status_code == 200, url


def test_chart_dues_count_every_open_invoice_not_only_the_latest_shown(
    clinic_a, client_for, setup, in_tenant, monkeypatch
):
    from billing import chart

    monkeypatch.setattr(chart, "CHART_INVOICES_SHOWN", 1)
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        older = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        )
        later_visit = Visit.objects.create(
            patient=setup["patient"], location=clinic_a.locations[0], clinician=clinic_a.users["doctor"]
        )
        latest = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=later_visit)
        )
        owed = older.balance + latest.balance
    chart_html = client_for(clinic_a, "front_desk").get(f"/patients/{setup['patient'].pk}/").content.decode()
    assert older.number not in chart_html and latest.number in chart_html
    assert f"Dues ₹{owed}" in chart_html


def test_a_refund_razorpay_refused_is_listed_but_not_counted_in_the_day_book(clinic_a, setup, in_tenant):
    from billing import reports
    from billing.models import VendorStatus

    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        invoice = services.invoice_issue(
            actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=setup["visit"])
        )
        paid = services.payment_record(actor=desk, invoice=invoice, mode="upi", amount=Decimal("750"))
        refund = services.refund_record(
            actor=staff(clinic_a, "owner"), payment=paid, amount=Decimal("100"), reason="Billed twice"
        )
        Payment.objects.filter(pk=refund.pk).update(vendor_status=VendorStatus.FAILED)
        location = invoice.location
        book = reports.day_book(user=staff(clinic_a, "owner"), location=location, day=services.local_today(location))
        csv_text = reports.day_book_csv(book)
    assert len(book.entries) == 2
    assert book.total_in == Decimal("750.00") and book.total_out == Decimal("0")
    assert "Refund (failed at Razorpay)" in csv_text
