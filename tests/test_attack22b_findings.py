"""Defects found by attacking the consent log and the invoice PDF on WhatsApp from outside (a sender
who is not the patient, a minor writing for themselves, bad input through the API, a STOP racing a
queued document): one test per defect, each stating the behaviour expected."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import services as messaging
from messaging.models import OutboundMessage
from patients import consents
from patients.models import Patient, PatientConsent
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.appointments.helpers import make_patient
from tests.billing.test_invoice_whatsapp import _invoice, _send, _write
from tests.clock import CLINIC_MORNING
from tests.messaging import conftest as whatsapp_fixtures
from tests.messaging.conftest import PHONE_ID_A, connect, deliver, inbound_payload

graph = whatsapp_fixtures.graph  # the fake Graph API
wa_a = whatsapp_fixtures.wa_a  # clinic A with its WhatsApp number connected


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller


def _consents_url(patient_id: Any) -> str:
    return f"/api/v1/patients/{patient_id}/consents"


def test_a_minors_start_from_their_own_number_is_not_recorded_as_the_guardians_consent(wa_a, graph, pinned):
    """A 15-year-old whose record names a guardian but no guardian phone gets messages on their own
    number. When the child (not the guardian) texts START, the log must record the child's own
    decision (`given_by: patient`), never a grant "given by" the named guardian: the guardian did
    not say anything, and a minor's reminders need the guardian's consent (DPDP Rules, rule 10), so
    the gate must keep refusing them with `guardian_consent_needed`."""
    child = make_patient(
        wa_a, consent=False, given_name="Ishaan", family_name="Kulkarni", date_of_birth=dt.date(2011, 6, 2),
        phone="+919812345678", guardian_name="Meera Kulkarni", guardian_relation="Mother", guardian_phone="",
    )  # fmt: skip
    deliver(inbound_payload(PHONE_ID_A, "wamid.MINOR1", text="START", name="Ishaan"))
    with tenant_context(wa_a.clinic):
        rows = list(PatientConsent.objects.filter(patient=child, purpose="whatsapp_reminders"))
        assert [r.given_by for r in rows if r.action == "granted"] in ([], ["patient"])
        assert all(r.guardian_name == "" for r in rows)
        assert consents.consent_allows(child, "whatsapp_reminders") == (False, "guardian_consent_needed")
        refused = messaging.message_send_template(
            patient=child, template_name="appointment_reminder", language="en", parameters=["Ishaan"],
            idempotency_key="minor-start",
        )  # fmt: skip
        assert (refused.status, refused.error) == ("failed", "guardian_consent_needed")
    connection.set_schema_to_public()


def test_an_invoice_pdf_queued_before_a_stop_is_not_sent_by_the_worker(wa_a, client_for, graph, pinned):
    """The desk queues an invoice PDF; before a worker picks it up the patient texts STOP. The outbox
    refuses a document to an opted-out patient when it is queued, and consent is checked again at
    dispatch: the worker must fail the queued document (`opted_out` or `consent_withdrawn`) and
    upload and send nothing. Only the STOP confirmation may still go out."""
    patient = make_patient(wa_a)
    invoice = _invoice(wa_a, patient)
    _write(wa_a, "wamid.ATK1")
    page = _send(client_for(wa_a, "front_desk"), invoice).content.decode()
    assert "queued to go out on WhatsApp" in page
    deliver(inbound_payload(PHONE_ID_A, "wamid.ATK2", text="STOP"))
    with tenant_context(wa_a.clinic):
        (document,) = OutboundMessage.objects.filter(kind="document")
        assert document.status == "queued"
        outcome = messaging.message_dispatch(message_id=str(document.pk))
        document.refresh_from_db()
        assert outcome == "skipped"
        assert (document.status, document.error) in (("failed", "opted_out"), ("failed", "consent_withdrawn"))
    connection.set_schema_to_public()
    posted = [r for r in graph.requests if r.method == "POST"]
    assert not any(r.path.endswith("/media") for r in posted)
    assert not any(r.body.get("type") == "document" for r in posted)


def test_control_characters_never_reach_the_consent_log(wa_a, client_for, pinned):
    """The log is evidence shown on pages, exports and FHIR: a notice version or guardian name sent
    through the API with control characters (BEL, ESC, DEL...) is stored without them (or refused),
    never as they came."""
    child = make_patient(
        wa_a, consent=False, date_of_birth=dt.date(2014, 2, 20), phone="", guardian_name="Pooja Menon",
        guardian_relation="Mother", guardian_phone="+919812345678",
    )  # fmt: skip
    token = make_token(wa_a, wa_a.users["front_desk"])
    response = client_for(wa_a).post(
        _consents_url(child.pk),
        {
            "purpose": "whatsapp_reminders",
            "given_by": "guardian",
            "guardian_name": "Pooja\x07 Menon\x1b[2J",
            "notice_version": "v3\x1b[31m\x7f",
        },
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code in (201, 400), response.content
    with tenant_context(wa_a.clinic):
        for row in PatientConsent.objects.filter(patient=child):
            for value in (row.guardian_name, row.guardian_relation, row.notice_version):
                assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value), repr(value)
    connection.set_schema_to_public()


def test_a_guardian_grant_needs_a_visible_guardian_name(wa_a, client_for, pinned):
    """A guardian's grant for a minor whose record names no guardian needs `guardian_name` (400 naming
    the field). A name of only invisible characters (zero-width spaces, control characters) is no
    name, nor is one of only joiners or punctuation: it must be refused the same way, not accepted as
    a named guardian that unlocks the minor's WhatsApp reminders."""
    child = make_patient(
        wa_a, consent=False, date_of_birth=dt.date(2013, 9, 9), phone="+919812345678",
        guardian_name="", guardian_phone="",
    )  # fmt: skip
    token = make_token(wa_a, wa_a.users["front_desk"])
    client = client_for(wa_a)
    for name in ("\u200b", "\u200b\u2060\ufeff", "\x07\x08", "\u200d", " . - "):
        response = client.post(
            _consents_url(child.pk),
            {"purpose": "whatsapp_reminders", "given_by": "guardian", "guardian_name": name},
            content_type="application/json",
            **bearer(token),
        )
        error = assert_error(response, 400)
        assert "guardian_name" in error["fields"], error
    with tenant_context(wa_a.clinic):
        assert not PatientConsent.objects.filter(patient=child).exists()
        assert consents.consent_allows(child, "whatsapp_reminders")[0] is False
    connection.set_schema_to_public()


def test_a_double_submit_of_the_consent_form_records_one_decision(wa_a, client_for, pinned):
    """The desk presses "Record" twice (or the browser re-posts): the same decision, by the same
    person, seconds apart, is one decision. The log is evidence of what the patient said, so it must
    hold one row (and one audit entry), not two identical ones. A different decision, or the same
    one later, is still a new row."""
    patient = make_patient(wa_a, consent=False, given_name="Rohan", family_name="Bhatt")
    client = client_for(wa_a, "front_desk")
    form = {"purpose": "marketing", "action": "granted", "given_by": "patient", "channel": "paper", "note": "Form 88"}
    for _ in range(2):
        response = client.post(f"/patients/{patient.pk}/consent-log/record", form)
        assert response.status_code == 302
    with tenant_context(wa_a.clinic):
        assert PatientConsent.objects.filter(patient=patient).count() == 1
        assert AuditEvent.objects.filter(action="patient.consent_granted", object_id=str(
            PatientConsent.objects.get(patient=patient).pk
        )).count() == 1  # fmt: skip
    connection.set_schema_to_public()
    client.post(f"/patients/{patient.pk}/consent-log/record", {**form, "action": "withdrawn"})
    with tenant_context(wa_a.clinic):
        assert PatientConsent.objects.filter(patient=patient).count() == 2
    connection.set_schema_to_public()


def test_a_withdrawal_being_written_when_a_worker_picks_the_message_up_stops_it(
    throwaway_clinic, django_db_blocker, graph, monkeypatch
):
    """The desk records a withdrawal of WhatsApp reminders at the moment a worker picks up the
    patient's queued reminder. The withdrawal's row is already inserted (its transaction is still
    running) when the worker claims the message: the worker must not read the old grant and send;
    it must wait for the withdrawal and then find the message failed (`consent_withdrawn`), with
    nothing sent to WhatsApp. (Committed data in a throwaway clinic: two real connections.)"""
    clinic = throwaway_clinic.clinic
    monkeypatch.setattr(messaging, "outbox_enqueue", lambda *args, **kwargs: None)  # no broker: we dispatch
    with django_db_blocker.unblock():
        connect(throwaway_clinic, PHONE_ID_A)
        with tenant_context(clinic):
            patient = Patient.objects.create(
                mrn="RACE-C1", given_name="Nikhil", family_name="Saxena", phone="+919845012345",
                registered_location=throwaway_clinic.locations[0],
            )  # fmt: skip
            consents.consent_record(patient=patient, purpose="whatsapp_reminders", channel="in_person", actor=None)
            message = messaging.message_send_template(
                patient=patient, template_name="appointment_reminder", language="en", parameters=["Nikhil"],
                idempotency_key="race-withdrawal-1",
            )  # fmt: skip
            assert message.status == "queued"
        connection.set_schema_to_public()

        inserted, worker_done = threading.Event(), threading.Event()
        results: dict[str, Any] = {}

        def pause(patient: Any, purpose: str) -> None:  # runs first among the withdrawal's listeners
            inserted.set()
            worker_done.wait(timeout=3)

        def withdraw() -> None:
            try:
                connection.set_tenant(clinic)
                consents.consent_withdraw(
                    patient=Patient.objects.get(pk=patient.pk), purpose="whatsapp_reminders", channel="phone",
                    actor=None,
                )  # fmt: skip
            except BaseException as exc:
                results["withdraw"] = exc
            finally:
                connections.close_all()

        def work() -> None:
            try:
                connection.set_tenant(clinic)
                assert inserted.wait(timeout=30)
                results["dispatch"] = messaging.message_dispatch(message_id=str(message.pk))
            except BaseException as exc:
                results["work"] = exc
            finally:
                worker_done.set()
                connections.close_all()

        consents._WITHDRAWAL_LISTENERS.insert(0, pause)
        try:
            threads = [threading.Thread(target=withdraw), threading.Thread(target=work)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        finally:
            consents._WITHDRAWAL_LISTENERS.remove(pause)
        assert "withdraw" not in results and "work" not in results, results
        with tenant_context(clinic):
            message.refresh_from_db()
            assert (message.status, message.error) == ("failed", "consent_withdrawn"), results
        connection.set_schema_to_public()
    assert not [r for r in graph.requests if r.method == "POST" and r.path.endswith("/messages")]


def test_a_start_delivered_after_a_later_stop_does_not_undo_the_stop(wa_a, graph, pinned):
    """WhatsApp does not promise to deliver webhooks in order. The patient texted START at 10:00 and
    STOP a minute later; the STOP arrives first, the START after it. The patient's last word was
    STOP: the late START must not grant WhatsApp consent again (nor should a late STOP undo a later
    START). Keywords count in the order the patient sent them (WhatsApp's timestamp)."""
    patient = make_patient(wa_a, consent=False, given_name="Gaurav", family_name="Menon")
    with tenant_context(wa_a.clinic):
        consents.consent_record(patient=patient, purpose="whatsapp_reminders", channel="in_person", actor=None)
    connection.set_schema_to_public()
    now = int(time.time())
    deliver(inbound_payload(PHONE_ID_A, "wamid.ORDER-STOP", text="STOP", ts=now))
    deliver(inbound_payload(PHONE_ID_A, "wamid.ORDER-START", text="START", ts=now - 60))
    with tenant_context(wa_a.clinic):
        assert consents.consent_allows(patient, "whatsapp_reminders") == (False, "consent_withdrawn")
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at is not None
    connection.set_schema_to_public()


def test_a_stop_from_a_minors_guardian_is_recorded_as_the_guardians(wa_a, graph, pinned):
    """A child's messages go to the father's number; the father texts STOP. The log is the evidence of
    who decided: the withdrawal must say it was given by the guardian (by name), not by the child,
    who said nothing."""
    child = make_patient(
        wa_a, consent=False, given_name="Anaya", family_name="Shetty", date_of_birth=dt.date(2017, 1, 5),
        phone="", guardian_name="Prakash Shetty", guardian_relation="Father", guardian_phone="+919812345678",
    )  # fmt: skip
    with tenant_context(wa_a.clinic):
        consents.consent_record(
            patient=child, purpose="whatsapp_reminders", channel="paper", actor=None, given_by="guardian"
        )
    connection.set_schema_to_public()
    deliver(inbound_payload(PHONE_ID_A, "wamid.GUARD-STOP", text="STOP", name="Prakash"))
    with tenant_context(wa_a.clinic):
        latest = consents.consent_latest(child, "whatsapp_reminders")
        assert latest is not None and latest.action == "withdrawn"
        assert (latest.given_by, latest.guardian_name) == ("guardian", "Prakash Shetty")
    connection.set_schema_to_public()
