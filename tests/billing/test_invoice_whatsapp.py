"""An issued invoice's PDF to the patient on WhatsApp: queued once through messaging's outbox and
delivered to the fake Graph API as a document (media upload, then the message); refused outside the
24-hour window, for a draft, for an opted-out patient (with the sentence), without the capabilities,
and for another branch's or clinic's invoice (404). Also offered in the chart's "Send PDF" list."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from audit.models import AuditEvent
from billing import services
from billing.models import Invoice, PriceItem
from messaging import inbox
from messaging import services as messaging
from messaging.models import Contact, OutboundMessage
from patients.models import Patient
from tests.appointments.helpers import make_patient
from tests.billing.billing_helpers import price_list, set_gstin, staff
from tests.conftest import PASSWORD
from tests.messaging import conftest as whatsapp_fixtures
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload

graph = whatsapp_fixtures.graph  # the fake Graph API
wa_a = whatsapp_fixtures.wa_a  # clinic A with its WhatsApp number connected

pytestmark = pytest.mark.usefixtures("clock")


def _write(seeded: Any, wamid: str, *, ago: int = 0) -> Contact:
    deliver(
        inbound_payload(PHONE_ID_A, wamid, text="Please send my bill", name="Asha Verma", ts=int(time.time()) - ago)
    )
    with tenant_context(seeded.clinic):
        contact = Contact.objects.get(wa_id="919812345678")
    connection.set_schema_to_public()
    return contact


def _invoice(seeded: Any, patient: Patient, *, issue: bool = True, location: Any = None) -> Invoice:
    set_gstin(seeded)
    with tenant_context(seeded.clinic):
        if PriceItem.objects.exists():
            items = {
                "consult": PriceItem.objects.get(name="Consultation"),
                "dressing": PriceItem.objects.get(name="Dressing"),
            }
        else:
            items = price_list(staff(seeded, "owner"))
        desk = staff(seeded, "front_desk")
        invoice = services.invoice_create(actor=desk, patient=patient, location=location or seeded.locations[0])
        services.invoice_add_line(actor=desk, invoice=invoice, item=items["consult"])
        services.invoice_add_line(actor=desk, invoice=invoice, item=items["dressing"])
        if issue:
            invoice = services.invoice_issue(actor=desk, invoice=invoice)
    connection.set_schema_to_public()
    return invoice


def _send(client: Any, invoice: Invoice, key: str | None = None) -> Any:
    return client.post(f"/billing/invoices/{invoice.pk}/whatsapp", {"key": key or str(uuid.uuid4())}, follow=True)


def _documents(seeded: Any) -> list[OutboundMessage]:
    with tenant_context(seeded.clinic):
        found = list(OutboundMessage.objects.filter(kind="document"))
    connection.set_schema_to_public()
    return found


def test_an_issued_invoice_goes_once_through_the_outbox_as_a_pdf_document(wa_a, client_for, graph):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    contact = _write(wa_a, "wamid.INV1")
    desk = client_for(wa_a, "front_desk")
    page = desk.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Send PDF on WhatsApp" in page
    key = str(uuid.uuid4())
    for _ in range(2):  # a double press sends one message
        response = _send(desk, invoice, key)
        assert response.status_code == 200 and "queued to go out on WhatsApp" in response.content.decode()
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(contact=contact)
        assert (message.kind, message.status) == ("document", "queued")
        assert message.related_type == "billing.invoice" and message.related_id == str(invoice.pk)
        assert message.parameters["filename"] == f"Invoice {invoice.number.replace('/', '-')}.pdf"
        assert "Asha" not in message.parameters["filename"] and "Verma" not in message.parameters["filename"]
        event = AuditEvent.objects.get(action="invoice.send_whatsapp")
        assert event.metadata == {"message": str(message.pk), "status": "queued"}  # ids only
        assert messaging.message_dispatch(message_id=str(message.pk)) == "sent"
        message.refresh_from_db()
        assert message.status == "sent"
    connection.set_schema_to_public()
    upload, send = [r for r in graph.requests if r.method == "POST"]
    assert upload.path == f"/v27.0/{PHONE_ID_A}/media" and upload.body["type"] == "application/pdf"
    assert send.body["type"] == "document" and send.body["to"] == "+919812345678"
    document = send.body["document"]
    assert document["filename"] == f"Invoice {invoice.number.replace('/', '-')}.pdf"
    assert invoice.number in document["caption"]
    assert graph.state.media[document["id"]].data.startswith(b"%PDF")


def test_outside_the_window_the_invoice_is_refused_with_the_reason(wa_a, client_for):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    _write(wa_a, "wamid.INV2", ago=30 * 3600)
    page = _send(client_for(wa_a, "front_desk"), invoice).content.decode()
    assert "Not sent:" in page and "within 24 hours of the patient" in page
    assert _documents(wa_a) == []


def test_a_patient_who_never_wrote_is_refused_with_the_reason(wa_a, client_for):
    invoice = _invoice(wa_a, make_patient(wa_a))
    page = _send(client_for(wa_a, "front_desk"), invoice).content.decode()
    assert "within 24 hours of the patient" in page
    assert _documents(wa_a) == []


def test_a_draft_is_not_offered_and_cannot_be_sent(wa_a, client_for):
    patient = make_patient(wa_a)
    draft = _invoice(wa_a, patient, issue=False)
    _write(wa_a, "wamid.INV3")
    desk = client_for(wa_a, "front_desk")
    assert "Send PDF on WhatsApp" not in desk.get(f"/billing/invoices/{draft.pk}/").content.decode()
    page = _send(desk, draft).content.decode()
    assert "A draft invoice cannot be sent: issue it first." in page
    assert _documents(wa_a) == []


def test_an_opted_out_patient_is_refused_with_the_sentence(wa_a, client_for):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    _write(wa_a, "wamid.INV4")
    with tenant_context(wa_a.clinic):
        Patient.objects.filter(pk=patient.pk).update(whatsapp_opted_out_at=timezone.now())
    connection.set_schema_to_public()
    page = _send(client_for(wa_a, "front_desk"), invoice).content.decode()
    assert "Not sent:" in page and "opted out of WhatsApp messages" in page
    assert inbox.OPTED_OUT_MESSAGE.split(",")[0] in page
    assert _documents(wa_a) == []


def test_a_restricted_record_is_failed_with_its_reason_and_nothing_goes_out(wa_a, client_for, graph):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    _write(wa_a, "wamid.INV5")
    with tenant_context(wa_a.clinic):
        Patient.objects.filter(pk=patient.pk).update(restricted_at=timezone.now())
    connection.set_schema_to_public()
    page = _send(client_for(wa_a, "front_desk"), invoice).content.decode()
    assert "Not sent:" in page
    (message,) = _documents(wa_a)
    assert message.status == "failed" and message.error == messaging.RESTRICTED
    assert [r for r in graph.requests if r.method == "POST"] == []


def test_without_collect_or_send_the_action_is_refused_and_not_offered(wa_a, client_for):
    invoice = _invoice(wa_a, make_patient(wa_a))
    _write(wa_a, "wamid.INV6")
    doctor = client_for(wa_a, "doctor")  # sees invoices and sends WhatsApp, does not collect
    assert "Send PDF on WhatsApp" not in doctor.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert doctor.post(f"/billing/invoices/{invoice.pk}/whatsapp", {"key": str(uuid.uuid4())}).status_code == 403
    with tenant_context(wa_a.clinic):
        role = Role.objects.create(name="Cashier", slug="cashier", capabilities=["billing.view", "billing.collect"])
        User.objects.create_user("cashier@alpha.example.in", PASSWORD, full_name="Cashier", role=role)
        cashier = User.objects.get(email="cashier@alpha.example.in")
    connection.set_schema_to_public()
    client = client_for(wa_a).login_as(cashier)
    assert "Send PDF on WhatsApp" not in client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert client.post(f"/billing/invoices/{invoice.pk}/whatsapp", {"key": str(uuid.uuid4())}).status_code in (403, 404)
    assert _documents(wa_a) == []


def test_another_branchs_or_clinics_invoice_is_not_found(wa_a, clinic_b, client_for):
    east_patient = make_patient(wa_a, registered_location=wa_a.locations[0])
    east_invoice = _invoice(wa_a, east_patient, location=wa_a.locations[0])  # East branch
    _write(wa_a, "wamid.INV7")
    with tenant_context(wa_a.clinic):
        main_only = User.objects.create_user(
            "main-desk@alpha.example.in", PASSWORD, full_name="Main Desk", role=Role.objects.get(slug="front_desk")
        )
        main_only.locations.set([wa_a.locations[1]])  # East, Main (sorted by name)
    connection.set_schema_to_public()
    client = client_for(wa_a).login_as(main_only)
    assert client.post(f"/billing/invoices/{east_invoice.pk}/whatsapp", {"key": "x"}).status_code == 404
    other = _invoice(clinic_b, make_patient(clinic_b))
    desk = client_for(wa_a, "front_desk")
    assert desk.post(f"/billing/invoices/{other.pk}/whatsapp", {"key": "x"}).status_code == 404
    assert desk.post(f"/billing/invoices/{uuid.uuid4()}/whatsapp", {"key": "x"}).status_code == 404
    assert _documents(wa_a) == []


def test_the_chart_offers_issued_invoices_in_its_send_pdf_list(wa_a, client_for, graph):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    draft = _invoice(wa_a, patient, issue=False)
    contact = _write(wa_a, "wamid.INV8")
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/patients/{patient.pk}/").content.decode()
    assert "Send PDF" in html and f'value="{invoice.pk}"' in html and f'value="{draft.pk}"' not in html
    response = desk.post(
        f"/inbox/patient/{patient.pk}/document/", {"document": str(invoice.pk), "key": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(contact=contact)
        assert message.related_type == "billing.invoice" and message.parameters["kind"] == "invoice"
        assert messaging.message_dispatch(message_id=str(message.pk)) == "sent"
    connection.set_schema_to_public()
    send = [r for r in graph.requests if r.method == "POST"][-1]
    assert send.body["document"]["filename"] == f"Invoice {invoice.number.replace('/', '-')}.pdf"
    # a draft's id posted by hand is not one of the offered documents
    refused = desk.post(
        f"/inbox/patient/{patient.pk}/document/", {"document": str(draft.pk), "key": str(uuid.uuid4())}, follow=True
    )
    assert "not one of this patient" in refused.content.decode()


def test_the_demo_conversation_shows_an_invoice_sent_as_a_pdf(clinic_a, client_for):
    from billing import demo
    from messaging import demo as messaging_demo
    from patients import demo as patients_demo

    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        east, main = clinic_a.locations
        Location.objects.filter(pk=east.pk).update(name="Koramangala")
        Location.objects.filter(pk=main.pk).update(name="Indiranagar")
        User.objects.filter(pk=clinic_a.users["owner"].pk).update(email="owner@demo.docos.in")
        User.objects.filter(pk=clinic_a.users["front_desk"].pk).update(email="frontdesk@demo.docos.in")
        patients_demo.seed_patients()
        messaging_demo.seed(clinic_a.clinic)
        demo.seed(clinic_a.clinic)
        (message,) = OutboundMessage.objects.filter(kind="document", related_type="billing.invoice")
        invoice = Invoice.objects.get(pk=message.related_id)
        assert message.status == "read" and invoice.status == "paid" and invoice.patient_id == message.patient_id
        assert message.parameters["filename"] == f"Invoice {invoice.number.replace('/', '-')}.pdf"
        contact = message.contact
    connection.set_schema_to_public()
    page = client_for(clinic_a, "front_desk").get(f"/inbox/{contact.pk}/").content.decode()
    assert "office medical reimbursement" in page
    assert f"PDF “Invoice {invoice.number.replace('/', '-')}.pdf”" in page


def test_a_receipt_and_a_credit_note_go_as_pdf_documents_too(wa_a, client_for, graph):
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    with tenant_context(wa_a.clinic):
        owner = staff(wa_a, "owner")
        payment = services.payment_record(
            actor=owner, invoice=invoice, mode="upi", amount=invoice.total, reference="UTR 1"
        )
        note = services.credit_note_issue(actor=owner, invoice=invoice, reason="Dressing not done")
    connection.set_schema_to_public()
    contact = _write(wa_a, "wamid.INV9")
    desk = client_for(wa_a, "front_desk")
    page = desk.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert f"/billing/payments/{payment.pk}/whatsapp" in page and f"/billing/credit-notes/{note.pk}/whatsapp" in page
    assert "queued to go out on WhatsApp" in _send_to(desk, f"/billing/payments/{payment.pk}/whatsapp")
    assert "queued to go out on WhatsApp" in _send_to(desk, f"/billing/credit-notes/{note.pk}/whatsapp")
    with tenant_context(wa_a.clinic):
        messages = list(OutboundMessage.objects.filter(contact=contact).order_by("created_at"))
        assert [m.related_type for m in messages] == ["billing.payment", "billing.creditnote"]
        for message in messages:
            assert messaging.message_dispatch(message_id=str(message.pk)) == "sent"
        assert AuditEvent.objects.filter(action="receipt.send_whatsapp", object_id=str(payment.pk)).count() == 1
        assert AuditEvent.objects.filter(action="credit_note.send_whatsapp", object_id=str(note.pk)).count() == 1
    connection.set_schema_to_public()
    sends = [r.body for r in graph.requests if r.method == "POST" and "messages" in r.path]
    names = [body["document"]["filename"] for body in sends]
    assert names == [
        f"Receipt {payment.receipt_number.replace('/', '-')}.pdf",
        f"Credit note {note.number.replace('/', '-')}.pdf",
    ]
    uploads = [r for r in graph.requests if r.method == "POST" and r.path.endswith("/media")]
    assert len(uploads) == 2
    doctor = client_for(wa_a, "doctor")  # no billing.collect
    assert doctor.post(f"/billing/payments/{payment.pk}/whatsapp", {"key": "x"}).status_code == 403
    assert doctor.post(f"/billing/credit-notes/{note.pk}/whatsapp", {"key": "x"}).status_code == 403


def _send_to(client: Any, url: str) -> str:
    return client.post(url, {"key": str(uuid.uuid4())}, follow=True).content.decode()
