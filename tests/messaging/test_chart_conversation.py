"""The WhatsApp conversation on the patient chart: latest messages and older pages, new messages
through the panel's refresh, a reply inside the 24-hour window, a template outside it (with the
reason), and a signed prescription sent as a PDF document through the outbox to the fake Graph API."""

from __future__ import annotations

import time
import uuid

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import selectors, services
from messaging.models import Contact, OutboundMessage
from tests.appointments.helpers import make_patient
from tests.clinical.clinical_helpers import clinic_files, signed_prescription  # noqa: F401  (a fixture)
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload


def _write(seeded, wamid, *, text="Hello doctor", ago=0):
    deliver(inbound_payload(PHONE_ID_A, wamid, text=text, name="Asha Verma", ts=int(time.time()) - ago))
    with tenant_context(seeded.clinic):
        return Contact.objects.get(wa_id="919812345678")


def test_the_chart_shows_the_patients_conversation_and_a_reply_box_inside_the_window(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    _write(wa_a, "wamid.C1", text="Doctor, fever is down today")
    html = client_for(wa_a, "doctor").get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="whatsapp"' in html and "Doctor, fever is down today" in html
    assert "Send reply" in html and "You can write freely until" in html
    assert f'data-url="/inbox/patient/{patient.pk}/lines/"' in html  # the panel refreshes itself


def test_staff_without_the_inbox_capability_see_no_conversation_panel(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    _write(wa_a, "wamid.C2", text="Private question")
    nurse = client_for(wa_a, "nurse")
    html = nurse.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="whatsapp"' not in html and "Private question" not in html
    assert nurse.get(f"/inbox/patient/{patient.pk}/lines/").status_code == 403


def test_a_reply_from_the_chart_is_queued_once_into_the_patients_conversation(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    contact = _write(wa_a, "wamid.C3")
    desk = client_for(wa_a, "front_desk")
    key = str(uuid.uuid4())
    for _ in range(2):  # a double submit sends one message
        response = desk.post(f"/inbox/patient/{patient.pk}/reply/", {"body": "Please come at 5 pm.", "key": key})
        assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/#whatsapp"
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(contact=contact)
        assert (message.kind, message.body, message.status) == ("text", "Please come at 5 pm.", "queued")
        assert AuditEvent.objects.filter(action="message.send_text", actor_id=wa_a.users["front_desk"].pk).exists()


def test_outside_the_window_the_chart_offers_a_template_and_refuses_a_reply_with_the_reason(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    _write(wa_a, "wamid.C4", ago=25 * 3600)
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/patients/{patient.pk}/").content.decode()
    assert "Send template" in html and "Send reply" not in html and "More than 24 hours have passed" in html
    refused = desk.post(f"/inbox/patient/{patient.pk}/reply/", {"body": "Hello", "key": str(uuid.uuid4())}, follow=True)
    assert "Not sent:" in refused.content.decode() and "only an approved template" in refused.content.decode()
    sent = desk.post(
        f"/inbox/patient/{patient.pk}/template/", {"template": "conversation_reopen:en", "key": str(uuid.uuid4())}
    )
    assert sent.status_code == 302
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(patient=patient)
        assert (message.kind, message.template_name, message.status) == ("template", "conversation_reopen", "queued")


def test_a_patient_who_never_wrote_can_be_sent_a_template_from_the_chart(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    desk = client_for(wa_a, "front_desk")
    html = desk.get(f"/patients/{patient.pk}/").content.decode()
    assert "has not written to the clinic on WhatsApp" in html and "No WhatsApp messages yet." in html
    desk.post(
        f"/inbox/patient/{patient.pk}/template/", {"template": "conversation_reopen:hi", "key": str(uuid.uuid4())}
    )
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(patient=patient)
        assert (message.language, message.to_number, message.status) == ("hi", "+919812345678", "queued")
    lines = desk.get(f"/inbox/patient/{patient.pk}/lines/").content.decode()
    assert "conversation_reopen" in lines and "Queued" in lines


def test_new_messages_reach_the_panel_through_its_refresh_and_older_ones_come_by_page(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    for n in range(selectors.CHART_PAGE_SIZE + 3):
        _write(wa_a, f"wamid.P{n}", text=f"Message number {n:02d}", ago=3600 - n)
    doctor = client_for(wa_a, "doctor")
    newest = doctor.get(f"/inbox/patient/{patient.pk}/lines/").content.decode()
    assert "Message number 27" in newest and "Message number 03" in newest and "Message number 02" not in newest
    assert f"/inbox/patient/{patient.pk}/lines/?page=2" in newest  # "Older messages"
    older = doctor.get(f"/inbox/patient/{patient.pk}/lines/?page=2").content.decode()
    assert "Message number 00" in older and "Message number 02" in older and "Message number 03" not in older
    _write(wa_a, "wamid.NEW", text="Just now: reports attached?")
    refreshed = doctor.get(f"/inbox/patient/{patient.pk}/lines/?pages=2").content.decode()
    assert "Just now: reports attached?" in refreshed and "Message number 00" in refreshed


@pytest.mark.usefixtures("clinic_files")
def test_a_signed_prescription_goes_to_the_patient_as_a_pdf_document_through_the_outbox(wa_a, client_for, clock, graph):
    patient = make_patient(wa_a, phone="+919812345678")
    prescription = signed_prescription(wa_a, patient)
    contact = _write(wa_a, "wamid.D1", text="Please send my prescription")
    doctor = client_for(wa_a, "doctor")
    html = doctor.get(f"/patients/{patient.pk}/").content.decode()
    assert "Send PDF" in html and str(prescription.document.pk) in html
    response = doctor.post(
        f"/inbox/patient/{patient.pk}/document/", {"document": str(prescription.document.pk), "key": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    with tenant_context(wa_a.clinic):
        (message,) = OutboundMessage.objects.filter(contact=contact)
        assert (message.kind, message.status) == ("document", "queued")
        assert services.message_dispatch(message_id=str(message.pk)) == "sent"
        message.refresh_from_db()
        assert message.status == "sent"
        assert AuditEvent.objects.filter(action="document.send_whatsapp").exists()
    upload, send = [r for r in graph.requests if r.method == "POST"]
    assert upload.path == f"/v27.0/{PHONE_ID_A}/media" and upload.body["type"] == "application/pdf"
    document = send.body["document"]
    assert send.body["type"] == "document" and send.body["to"] == "+919812345678"
    assert document["filename"] == f"prescription-{prescription.document.verification_code}.pdf"
    assert graph.state.media[document["id"]].data.startswith(b"%PDF")


@pytest.mark.usefixtures("clinic_files")
def test_front_desk_is_not_offered_prescriptions_and_cannot_send_one_by_id(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    prescription = signed_prescription(wa_a, patient)
    _write(wa_a, "wamid.D2")
    desk = client_for(wa_a, "front_desk")
    assert str(prescription.document.pk) not in desk.get(f"/patients/{patient.pk}/").content.decode()
    refused = desk.post(
        f"/inbox/patient/{patient.pk}/document/",
        {"document": str(prescription.document.pk), "key": str(uuid.uuid4())},
        follow=True,
    )
    assert "not one of this patient" in refused.content.decode()
    with tenant_context(wa_a.clinic):
        assert not OutboundMessage.objects.filter(kind="document").exists()


@pytest.mark.usefixtures("clinic_files")
def test_a_pdf_outside_the_window_is_refused_with_the_reason(wa_a, client_for, clock):
    patient = make_patient(wa_a, phone="+919812345678")
    prescription = signed_prescription(wa_a, patient)
    _write(wa_a, "wamid.D3", ago=30 * 3600)
    doctor = client_for(wa_a, "doctor")
    refused = doctor.post(
        f"/inbox/patient/{patient.pk}/document/",
        {"document": str(prescription.document.pk), "key": str(uuid.uuid4())},
        follow=True,
    )
    assert "within 24 hours of the patient" in refused.content.decode()
    with tenant_context(wa_a.clinic):
        assert not OutboundMessage.objects.filter(kind="document").exists()


def test_another_clinics_patient_is_not_found_from_the_chart_routes(wa_a, clinic_b, client_for, clock):
    other = make_patient(clinic_b, phone="+919812345678")
    doctor = client_for(wa_a, "doctor")
    assert doctor.get(f"/inbox/patient/{other.pk}/lines/").status_code == 404
    assert doctor.post(f"/inbox/patient/{other.pk}/reply/", {"body": "x", "key": str(uuid.uuid4())}).status_code == 404
