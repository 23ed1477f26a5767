"""Demo billing for the demo clinic: a price list (consultations, procedures, a cosmetic peel,
medicines), and invoices in every state at both branches: bills of supply and tax invoices, issued
and unpaid, partly paid, paid by cash, UPI and card, one paid from an advance deposit, one
cancelled by a credit note with its refund, one corrected by a partial credit note, and a draft.

`seed(clinic)` runs after the clinical demo (app order), inside the demo clinic's schema, through
the services, so every number, payment and audit event is real.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, User
from billing import services
from billing.models import Invoice, PriceItem
from clinical.models import Visit
from clinics.models import Clinic
from patients.models import Patient

logger = logging.getLogger(__name__)

PRICE_LIST = [
    # name, kind, SAC/HSN, tax class, price, on every visit, Indiranagar price
    ("Consultation", "service", "999312", "health_exempt", "600", True, "700"),
    ("Follow-up consultation", "service", "999312", "health_exempt", "300", False, None),
    ("Dressing (small wound)", "procedure", "999312", "health_exempt", "250", False, None),
    ("Suturing", "procedure", "999312", "health_exempt", "1200", False, None),
    ("ECG", "procedure", "999316", "health_exempt", "400", False, None),
    ("Nebulisation", "procedure", "999312", "health_exempt", "200", False, None),
    ("Annual health check package", "package", "999312", "health_exempt", "3500", False, None),
    ("Chemical peel (cosmetic)", "procedure", "999312", "cosmetic_18", "4500", False, None),
    ("Dolo 650 (strip of 15)", "medicine", "30049099", "medicine_5", "33.60", False, None),
    ("Pan 40 (strip of 15)", "medicine", "30049099", "medicine_5", "171.50", False, None),
    ("Electral sachet", "medicine", "30049099", "medicine_5", "21.00", False, None),
    ("Sunscreen SPF 50 (50 g)", "medicine", "33049910", "goods_18", "650", False, None),
]


def _user(email: str) -> User | None:
    return User.objects.select_related("role").filter(email=email, is_active=True).first()


def seed(clinic: Clinic) -> dict[str, int]:
    with tenant_context(clinic):
        if PriceItem.objects.exists():
            return {}
        return _seed()


def _seed() -> dict[str, Any]:
    owner = _user("owner@demo.docos.in")
    desk = _user("frontdesk@demo.docos.in") or owner
    kora = Location.objects.filter(name="Koramangala").first()
    indira = Location.objects.filter(name="Indiranagar").first()
    if owner is None or desk is None or kora is None or indira is None:
        logger.warning("billing demo: the demo staff or locations are missing; nothing seeded")
        return {}
    items: dict[str, PriceItem] = {}
    for name, kind, code, tax_class, price, every_visit, indira_price in PRICE_LIST:
        items[name] = services.price_item_create(
            actor=owner, name=name, kind=kind, sac_hsn=code, tax_class=tax_class, default_price=Decimal(price),
            add_to_visits=every_visit,
        )  # fmt: skip
        if indira_price:
            services.location_price_set(actor=owner, item=items[name], location=indira, price=Decimal(indira_price))
    patients = list(Patient.objects.filter(is_active=True, merged_into__isnull=True).order_by("created_at", "mrn"))
    if len(patients) < 8:
        return {"price_items": len(items)}

    def bill(patient: Patient, location: Location, lines: list[tuple[str, str]], **kw: Any) -> Invoice:
        visit = Visit.objects.filter(patient=patient).order_by("-visit_at").first() if kw.pop("visit", False) else None
        if visit is not None:
            invoice = services.invoice_create_for_visit(actor=desk, visit=visit)
        else:
            invoice = services.invoice_create(actor=desk, patient=patient, location=location)
        for name, quantity in lines:
            services.invoice_add_line(actor=desk, invoice=invoice, item=items[name], quantity=Decimal(quantity))
        if kw.get("discount"):
            services.invoice_update_draft(actor=desk, invoice=invoice, invoice_discount=Decimal(kw["discount"]))
        if kw.get("draft"):
            return invoice
        return services.invoice_issue(actor=desk, invoice=invoice)

    def pay(invoice: Invoice, mode: str, amount: Decimal | str, reference: str = "") -> Any:
        invoice.refresh_from_db()
        return services.payment_record(
            actor=desk, invoice=invoice, mode=mode, amount=Decimal(amount), reference=reference
        )

    # 1. A visit billed as a bill of supply (consultation + ECG), paid by UPI.
    first = bill(patients[0], kora, [("ECG", "1")], visit=True)
    pay(first, "upi", first.total, "UTR 412345678901")
    # 2. Tax invoice: consultation, medicines at 5% and sunscreen at 18%, paid by card.
    second_lines = [
        ("Consultation", "1"),
        ("Dolo 650 (strip of 15)", "2"),
        ("Pan 40 (strip of 15)", "1"),
        ("Sunscreen SPF 50 (50 g)", "1"),
    ]
    second = bill(patients[1], kora, second_lines)
    pay(second, "card", second.total, "Approval 083154")
    # 3. Cosmetic peel with a discount: partly paid in cash, the rest due.
    third = bill(patients[2], indira, [("Chemical peel (cosmetic)", "1")], discount="500")
    pay(third, "cash", "2000")
    # 4. Health check package paid from an advance deposit.
    services.deposit_record(actor=desk, patient=patients[3], location=kora, mode="upi", amount=Decimal("5000"),
                            reference="UTR 412399887766")  # fmt: skip
    fourth = bill(patients[3], kora, [("Annual health check package", "1")])
    pay(fourth, "advance", fourth.total)
    # 5. Billed twice by mistake: cancelled by a credit note and the cash refunded.
    fifth = bill(patients[4], indira, [("Consultation", "1"), ("Nebulisation", "1")])
    payment = pay(fifth, "cash", fifth.total)
    services.credit_note_issue(actor=owner, invoice=fifth, reason="Billed twice for the same visit")
    services.refund_record(
        actor=owner, payment=payment, amount=payment.amount, reason="Billed twice for the same visit"
    )
    # 6. Medicines partly returned: a partial credit note, the balance paid by UPI.
    sixth = bill(patients[5], kora, [("Follow-up consultation", "1"), ("Electral sachet", "6")])
    electral = sixth.lines.get(description="Electral sachet")
    services.credit_note_issue(actor=owner, invoice=sixth, reason="Two sachets returned unopened",
                               quantities={electral.pk: Decimal("2")})  # fmt: skip
    sixth.refresh_from_db()
    pay(sixth, "upi", sixth.balance, "UTR 412300112233")
    # 7. Suturing and dressing, issued and not paid yet (outstanding dues).
    bill(patients[6], indira, [("Suturing", "1"), ("Dressing (small wound)", "1")])
    # 8. A draft still being prepared at the desk.
    bill(patients[7], kora, [("Consultation", "1"), ("Dolo 650 (strip of 15)", "1")], draft=True)
    # 9. Razorpay: the clinic's (test-mode) account against the local fake, an invoice paid through
    # a payment link (recorded as the signed webhook would) and one link still waiting.
    _seed_razorpay(desk, bill, patients, kora, indira)
    # 10. WhatsApp: a patient asked for today's bill in their conversation and the desk sent the PDF.
    _seed_whatsapp_invoice(desk, bill, kora)
    return {"price_items": len(items), "invoices": Invoice.objects.count()}


def _seed_razorpay(desk: User, bill: Any, patients: list[Patient], kora: Location, indira: Location) -> None:
    from billing import fake_razorpay, payment_links
    from billing.models import PaymentLink

    payment_links.razorpay_settings_update(
        actor=None, key_id=fake_razorpay.DEMO_KEY_ID, key_secret=fake_razorpay.DEMO_KEY_SECRET,
        webhook_secret=fake_razorpay.DEMO_WEBHOOK_SECRET, is_enabled=True, route_key=fake_razorpay.DEMO_ROUTE_KEY,
    )  # fmt: skip
    now = timezone.now()
    # Paid: a root canal's invoice, paid by UPI through the link the desk sent on WhatsApp.
    paid = bill(patients[8 % len(patients)], kora, [("Consultation", "1"), ("Dressing (small wound)", "1")])
    link = PaymentLink.objects.create(
        invoice=paid, amount=paid.total, status=PaymentLink.Status.CREATED, razorpay_id="plink_DemoPaid000001",
        short_url="https://rzp.io/i/DemoPaid1", created_by=desk, created_at=now - dt.timedelta(hours=3),
        expire_by=now + dt.timedelta(days=7), sent_count=1,
    )  # fmt: skip
    payment = {
        "id": "pay_DemoPaid00000001", "entity": "payment", "amount": int(paid.total * 100), "currency": "INR",
        "status": "captured", "order_id": "order_DemoPaid000001", "method": "upi",
        "notes": {"docos_link": str(link.pk)}, "created_at": int((now - dt.timedelta(hours=2)).timestamp()),
    }  # fmt: skip
    payment_links.on_payment_link_paid(
        {
            "payment_link": {"id": link.razorpay_id, "status": "paid", "amount_paid": payment["amount"]},
            "payment": payment,
        }
    )
    # Waiting: the same link the fake Razorpay (`make run`) knows, so cancelling it works there.
    waiting = bill(
        patients[9 % len(patients)], indira, [("Consultation", "1"), ("Suturing", "1"), ("Dressing (small wound)", "1")]
    )  # ₹2,150.00, the amount of the fake's demo link
    PaymentLink.objects.create(
        invoice=waiting, amount=waiting.total, status=PaymentLink.Status.CREATED,
        razorpay_id=fake_razorpay.DEMO_PENDING_LINK,
        short_url=f"http://127.0.0.1:{fake_razorpay.DEMO_PORT}/i/{fake_razorpay.DEMO_PENDING_LINK[6:16]}",
        created_by=desk, created_at=now - dt.timedelta(minutes=40), expire_by=now + dt.timedelta(days=7),
    )  # fmt: skip


def _seed_whatsapp_invoice(desk: User, bill: Any, kora: Location) -> None:
    """A conversation of the messaging demo (inside the 24-hour window) asks for the bill; the
    invoice went out as a PDF document and was read, as the outbox leaves it after the (fake) Graph
    API took it. History only: nothing is sent while seeding."""
    from billing import sending
    from messaging.models import Contact, InboundMessage, OutboundMessage

    now = timezone.now().replace(microsecond=0)
    contact = (
        Contact.objects.filter(patient__isnull=False, last_inbound_at__gte=now - dt.timedelta(hours=20))
        .select_related("patient")
        .order_by("last_inbound_at")
        .first()
    )
    if contact is None or contact.patient is None:
        return
    invoice = bill(contact.patient, kora, [("Consultation", "1"), ("ECG", "1")])
    services.payment_record(actor=desk, invoice=invoice, mode="upi", amount=invoice.total, reference="UTR 412377001122")
    asked = now - dt.timedelta(minutes=50)
    InboundMessage.objects.create(
        contact=contact,
        vendor_message_id=f"wamid.DEMOBILL{contact.pk.hex[:12]}",
        kind="text",
        body="Please send today's bill on WhatsApp, I need it for my office medical reimbursement.",
        sent_at=asked,
        received_at=asked,
    )
    sent = asked + dt.timedelta(minutes=4)
    message = OutboundMessage.objects.create(
        patient=contact.patient,
        contact=contact,
        kind=OutboundMessage.Kind.DOCUMENT,
        purpose=OutboundMessage.Purpose.REPLY,
        to_number=contact.phone,
        recipient_user_id=contact.user_id or "",
        body=sending.invoice_caption(invoice),
        parameters={
            "document": str(invoice.pk),
            "filename": sending.invoice_filename(invoice),
            "kind": sending.KIND,
            "source": sending.SOURCE,
        },
        idempotency_key=f"demo:invoice:{invoice.pk}",
        related_type=sending.SOURCE,
        related_id=str(invoice.pk),
        status=OutboundMessage.Status.READ,
        attempts=1,
        vendor_message_id=f"wamid.DEMOBILLOUT{invoice.pk.hex[:10]}",
        pricing_category="service",
        created_at=sent,
        sent_at=sent,
        delivered_at=sent + dt.timedelta(seconds=4),
        read_at=sent + dt.timedelta(minutes=2),
    )
    last = max(filter(None, (contact.last_inbound_at, asked)))
    Contact.objects.filter(pk=contact.pk).update(
        last_inbound_at=last, last_message_at=message.sent_at, read_up_to=message.sent_at
    )
