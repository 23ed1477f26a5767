"""The consent log in the patient-data registry: an access export carries every decision (JSON, and
FHIR R4 Consent resources validated with fhir.resources R4B), and an erasure deletes the rows."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from django.test import TestCase
from django_tenants.utils import tenant_context
from fhir.resources.R4B.bundle import Bundle

from patients import consents
from patients.models import PatientConsent
from privacy.export import export_build
from privacy.models import PatientExport, RightsRequest
from privacy.services import rights_request_erase
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import owner, request_for

NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def _child(seeded):
    return make_patient(
        seeded, consent=False, given_name="Diya", family_name="Sharma", date_of_birth=dt.date(2016, 5, 5),
        phone="", guardian_name="Vikram Sharma", guardian_relation="Father", guardian_phone="+919845066677",
    )  # fmt: skip


def _decide(patient):
    consents.consent_record(
        patient=patient, purpose="whatsapp_reminders", channel="paper", actor=None, given_by="guardian",
        note="Form 88",
    )  # fmt: skip
    consents.consent_record(patient=patient, purpose="marketing", channel="in_person", actor=None, given_by="guardian")
    consents.consent_withdraw(patient=patient, purpose="marketing", channel="phone", actor=None, given_by="guardian")
    consents.consent_record(patient=patient, purpose="treatment", channel="in_person", actor=None)


def test_an_access_export_holds_the_consent_log_as_json_and_fhir_consents(clinic_a, client_for, pinned):
    child = _child(clinic_a)
    with tenant_context(clinic_a.clinic):
        _decide(child)
        request = request_for(clinic_a, child, RightsRequest.Kind.ACCESS)
        export = PatientExport.objects.create(request=request, created_by=owner(clinic_a))
        assert export_build(export_id=str(export.pk)) == "ready"
    response = client_for(clinic_a, "owner").get(f"/settings/privacy/exports/{export.pk}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    log = json.loads(archive.read("records.json"))["patients"]["consent_log"]
    assert [(r["purpose"], r["action"]) for r in log] == [
        ("whatsapp_reminders", "granted"),
        ("marketing", "granted"),
        ("marketing", "withdrawn"),
        ("treatment", "granted"),
    ]
    assert log[0]["guardian_name"] == "Vikram Sharma" and log[0]["note"] == "Form 88" and log[0]["channel"] == "paper"
    bundle = json.loads(archive.read("fhir-bundle.json"))
    Bundle.model_validate(bundle)
    logged = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Consent" and "provision" in e["resource"]
    ]
    decisions = {(c["provision"]["purpose"][0]["code"], c["provision"]["type"], c["status"]) for c in logged}
    assert decisions == {
        ("whatsapp_reminders", "permit", "active"),
        ("marketing", "permit", "inactive"),
        ("marketing", "deny", "active"),
        ("treatment", "permit", "active"),
    }
    reminders = next(c for c in logged if c["provision"]["purpose"][0]["code"] == "whatsapp_reminders")
    assert reminders["performer"][0]["display"].startswith("Vikram Sharma (Father)")
    composition = bundle["entry"][0]["resource"]
    consent_section = next(s for s in composition["section"] if s["title"] == "Consents")
    assert len(consent_section["entry"]) == 4


def test_erasure_deletes_the_consent_log(clinic_a, pinned):
    patient = make_patient(clinic_a, consent=False, date_of_birth=dt.date(1970, 1, 1))
    with tenant_context(clinic_a.clinic):
        row = consents.consent_record(patient=patient, purpose="marketing", channel="web_form", actor=None)
        assert row.pk
        request = request_for(clinic_a, patient, RightsRequest.Kind.ERASURE)
        with TestCase.captureOnCommitCallbacks(execute=True):
            done = rights_request_erase(request=request, actor=owner(clinic_a))
        assert done.outcome == RightsRequest.Outcome.ERASED
        assert not PatientConsent.objects.filter(pk=row.pk).exists()
