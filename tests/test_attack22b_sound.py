"""What the attack on the consent log and the invoice PDF on WhatsApp found sound, kept as regression
tests: anonymous visitors are turned away, a number that is not the patient's cannot give consent
for them with START, the log has no update or delete route, and a STOP from a number shared by two
patients stops both."""

from __future__ import annotations

import uuid

import pytest
import time_machine
from django.db import connection
from django_tenants.utils import tenant_context

from patients import consents
from patients.models import PatientConsent
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING
from tests.messaging import conftest as whatsapp_fixtures
from tests.messaging.conftest import PHONE_ID_A, deliver, inbound_payload

graph = whatsapp_fixtures.graph
wa_a = whatsapp_fixtures.wa_a

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned():
    with time_machine.travel(CLINIC_MORNING, tick=True) as traveller:
        yield traveller


def test_anonymous_visitors_get_nothing(wa_a, client_for):
    patient = make_patient(wa_a, consent=False)
    anonymous = client_for(wa_a)
    page = anonymous.get(f"/patients/{patient.pk}/consent-log/")
    assert page.status_code == 302 and "/login" in page["Location"]
    posted = anonymous.post(f"/patients/{patient.pk}/consent-log/record", {"purpose": "marketing"})
    assert posted.status_code in (302, 403)
    assert anonymous.get(f"/api/v1/patients/{patient.pk}/consents").status_code == 401
    assert anonymous.post(f"/api/v1/patients/{patient.pk}/consents", {"purpose": "marketing"}).status_code == 401
    sent = anonymous.post(f"/billing/invoices/{uuid.uuid4()}/whatsapp", {"key": "x"})
    assert sent.status_code in (302, 403)
    with tenant_context(wa_a.clinic):
        assert not PatientConsent.objects.exists()
    connection.set_schema_to_public()


def test_the_log_has_no_update_or_delete_route(wa_a, client_for, pinned):
    patient = make_patient(wa_a, consent=False)
    with tenant_context(wa_a.clinic):
        row = consents.consent_record(patient=patient, purpose="marketing", channel="paper", actor=None)
    connection.set_schema_to_public()
    client = client_for(wa_a, "owner")
    url = f"/api/v1/patients/{patient.pk}/consents"
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(url, content_type="application/json").status_code in (401, 403, 405)
    assert client.get(f"{url}/{row.pk}").status_code == 404
    with tenant_context(wa_a.clinic):
        assert list(PatientConsent.objects.values_list("pk", "action")) == [(row.pk, "granted")]
    connection.set_schema_to_public()


def test_start_from_a_number_that_is_not_the_patients_grants_them_nothing(wa_a, graph, pinned):
    patient = make_patient(wa_a, consent=False, given_name="Lakshmi", family_name="Rao", phone="+919800011122")
    deliver(inbound_payload(PHONE_ID_A, "wamid.OTHER1", text="START"))  # from +91 98123 45678
    with tenant_context(wa_a.clinic):
        assert not PatientConsent.objects.filter(patient=patient).exists()
        assert consents.consent_allows(patient, "whatsapp_reminders") == (False, "no_whatsapp_consent")
    connection.set_schema_to_public()


def test_stop_from_a_shared_family_number_stops_every_patient_on_it(wa_a, graph, pinned):
    mother = make_patient(wa_a, consent=False, given_name="Sunita", family_name="Joshi")
    son = make_patient(wa_a, consent=False, given_name="Vikram", family_name="Joshi")  # same phone
    with tenant_context(wa_a.clinic):
        for patient in (mother, son):
            consents.consent_record(patient=patient, purpose="whatsapp_reminders", channel="in_person", actor=None)
    connection.set_schema_to_public()
    deliver(inbound_payload(PHONE_ID_A, "wamid.FAMILY1", text="stop"))
    with tenant_context(wa_a.clinic):
        for patient in (mother, son):
            assert consents.consent_allows(patient, "whatsapp_reminders") == (False, "consent_withdrawn")
    connection.set_schema_to_public()
