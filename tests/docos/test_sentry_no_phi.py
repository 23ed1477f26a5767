"""Sentry events carry the exception type and stack, never request data, the user or their values."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.test import override_settings
from sentry_sdk.transport import Transport

from docos import sentry
from tests.conftest import PASSWORD

PATIENT = {
    "given_name": "Ramesh",
    "family_name": "Kumarswamy",
    "phone": "+919876543210",
    "allergies": "Penicillin anaphylaxis",
    "password": PASSWORD,
}


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [item.payload.json for env in self.envelopes for item in env.items if item.type == "event"]

    def raw(self) -> str:
        return "\n".join(env.serialize().decode("utf-8", "replace") for env in self.envelopes)


@pytest.fixture
def sentry_transport():
    transport = CapturingTransport()
    sentry.init_sentry("https://public@o0.ingest.sentry.example/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


@override_settings(ROOT_URLCONF="tests.docos.urls_boom")
def test_error_in_a_request_reaches_sentry_without_phi_or_identity(clinic_a, client_for, sentry_transport):
    doctor = clinic_a.users["doctor"]
    client = client_for(clinic_a, "doctor", raise_request_exception=False)
    session_id = client.cookies["sessionid"].value
    sentry_sdk.add_breadcrumb(category="test", message="before request", data={"phone": PATIENT["phone"]})

    response = client.post("/__boom__/?mrn=MRN-0042&phone=%2B919876543210", PATIENT, HTTP_COOKIE_EXTRA="x")
    assert response.status_code == 500
    sentry_sdk.flush()

    events = sentry_transport.events()
    assert events, "the error should have been reported"
    exceptions = [v for e in events for v in (e.get("exception") or {}).get("values", [])]
    assert any(v["type"] == "ValueError" for v in exceptions)
    assert any(frame["function"] == "boom" for v in exceptions for frame in v["stacktrace"]["frames"])
    for event in events:
        assert "request" not in event and "user" not in event and "extra" not in event
        for frame in (f for v in (event.get("exception") or {}).get("values", []) for f in v["stacktrace"]["frames"]):
            assert "vars" not in frame
        for crumb in (event.get("breadcrumbs") or {}).get("values", []):
            assert "data" not in crumb

    everything = sentry_transport.raw()
    for secret in (
        *PATIENT.values(),
        "MRN-0042",
        doctor.email,
        doctor.full_name,
        str(doctor.pk),
        session_id,
    ):
        assert secret not in everything, f"{secret!r} leaked to Sentry"


def test_scrubber_removes_request_user_locals_and_breadcrumb_data():
    event = {
        "request": {"data": {"name": "Ramesh"}, "cookies": {"sessionid": "abc"}, "headers": {"Cookie": "x"}},
        "user": {"email": "doctor@example.in", "id": "42"},
        "extra": {"sys.argv": ["manage.py"]},
        "contexts": {"trace": {"trace_id": "t"}, "response": {"body": "Ramesh"}},
        "logentry": {"message": "Saving %s", "params": ["Ramesh"], "formatted": "Saving Ramesh"},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "Key (phone)=(+919876543210) already exists.",
                    "stacktrace": {"frames": [{"function": "save", "vars": {"phone": "+919876543210"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"category": "query", "message": "SELECT 1", "data": {"params": ["Ramesh"]}}]},
    }
    scrubbed = sentry.scrub_event(event)
    text = json.dumps(scrubbed)
    for leaked in ("Ramesh", "+919876543210", "doctor@example.in", "sessionid", "manage.py"):
        assert leaked not in text
    assert scrubbed["exception"]["values"][0]["type"] == "IntegrityError"
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"] == [{"function": "save"}]
    assert scrubbed["logentry"] == {"message": "Saving %s"}
    assert scrubbed["contexts"] == {"trace": {"trace_id": "t"}}


def test_sentry_stays_off_without_a_dsn():
    with override_settings(SENTRY_DSN=""):
        assert sentry.init_from_settings() is False
    assert not sentry_sdk.get_client().is_active()


def test_sentry_starts_from_settings_with_phi_free_options():
    try:
        with override_settings(SENTRY_DSN="https://public@o0.ingest.sentry.example/1", SENTRY_ENVIRONMENT="staging"):
            assert sentry.init_from_settings() is True
        options = sentry_sdk.get_client().options
        assert options["send_default_pii"] is False
        assert options["include_local_variables"] is False
        assert options["max_request_body_size"] == "never"
        assert options["before_send"] is sentry.scrub_event
        assert options["before_breadcrumb"] is sentry.scrub_breadcrumb
        assert options["environment"] == "staging"
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
