"""JSON logs of failing requests name the path and the exception type, never the body or the user."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from django.test import RequestFactory, override_settings

from docos.logging import JsonFormatter

PATIENT = {"given_name": "Ramesh", "family_name": "Kumarswamy", "phone": "+919876543210", "allergies": "Penicillin"}


@pytest.fixture
def request_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_request_logger_is_configured_with_the_json_formatter():
    # (pytest adds capture handlers of its own; ours is the plain console StreamHandler)
    console = [h for h in logging.getLogger("django.request").handlers if type(h) is logging.StreamHandler]
    assert console and all(isinstance(h.formatter, JsonFormatter) for h in console)
    assert logging.getLogger("django.request").propagate is False


@override_settings(ROOT_URLCONF="tests.docos.urls_boom")
def test_failing_request_log_has_no_request_body_or_identity(clinic_a, client_for, request_log):
    doctor = clinic_a.users["doctor"]
    client = client_for(clinic_a, "doctor", raise_request_exception=False)
    response = client.post("/__boom__/?mrn=MRN-0042", PATIENT)
    assert response.status_code == 500

    output = request_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["level"] == "ERROR"
    assert entry["message"] == "Internal Server Error: /__boom__/"
    assert entry["status_code"] == 500
    assert entry["exception"] == "ValueError"
    assert any(frame.endswith(":boom") for frame in entry["stack"])
    for secret in (*PATIENT.values(), "MRN-0042", doctor.email, doctor.full_name, str(doctor.pk)):
        assert secret not in output, f"{secret!r} leaked into the log"


def test_formatter_reduces_objects_in_extra_to_their_type():
    request = RequestFactory().post("/x", {"given_name": "Ramesh"})
    record = logging.LogRecord("docos", logging.WARNING, __file__, 1, "Import %s failed", ("42",), None)
    record.request = request
    record.patient = type("Patient", (), {"__str__": lambda self: "Ramesh Kumarswamy"})()
    record.patient_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    record.rows = 3
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "Import 42 failed"
    assert entry["patient"] == "<Patient>"
    assert entry["patient_id"] == "12345678-1234-5678-1234-567812345678"
    assert entry["rows"] == 3
    assert "request" not in entry
    assert "Ramesh" not in json.dumps(entry)


def test_a_secret_in_a_logged_path_is_masked_and_object_ids_are_kept(request_log):
    share_id = uuid.uuid4()
    logger = logging.getLogger("django.request")
    logger.error("%s: %s", "Internal Server Error", "/share/imaging/Zk3v9QmP1xYt7LwR2nB8sD4f/manifest")
    logger.error("%s: %s", "Internal Server Error", f"/imaging/studies/{share_id}/shares/")
    first, second = (json.loads(line) for line in request_log.getvalue().splitlines())
    assert "Zk3v9QmP1xYt7LwR2nB8sD4f" not in first["message"]
    assert first["message"] == "Internal Server Error: /share/imaging/…/manifest"
    assert str(share_id) in second["message"]
