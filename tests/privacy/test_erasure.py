"""Erasure vs restriction, with the clock pinned: clinical records are kept 10 years after the last
encounter (minors: until 10 years after they turn 18, whichever is later), billing records 8 years
after their financial year ends (31 March). While either applies, an erasure request is answered
with a restriction; otherwise everything goes, files included."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from docos.storage import file_storage
from messaging.services import RESTRICTED, message_send_template
from patients.models import Patient
from patients.selectors import patient_search
from privacy.models import RightsRequest
from privacy.services import erasure_decision, rights_request_erase
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import invoice, owner, request_for, upload, visit

NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _at(year, month=6, day=1):
    return dt.datetime(year, month, day, 10, 0, tzinfo=dt.UTC)


def test_adult_seen_nine_years_ago_is_restricted_not_erased(clinic_a, pinned):
    patient = make_patient(clinic_a, date_of_birth=dt.date(1980, 1, 1))
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2017, 12, 10))
        holds = erasure_decision(patient, TODAY)
        assert [h.until for h in holds if "Visits" in h.source] == [dt.date(2027, 12, 10)]


def test_adult_seen_just_over_ten_years_ago_may_be_erased(clinic_a, pinned):
    patient = make_patient(clinic_a, date_of_birth=dt.date(1980, 1, 1))
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2016, 12, 8))
        assert erasure_decision(patient, TODAY) == []


def test_the_last_day_of_the_clinical_period_still_keeps_the_record(clinic_a, pinned):
    patient = make_patient(clinic_a, date_of_birth=dt.date(1980, 1, 1))
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2016, 12, 9))
        assert erasure_decision(patient, TODAY) != []


def test_minor_is_kept_until_ten_years_after_turning_18(clinic_a, pinned):
    # Seen at 5 in 2012: ten years after that is long past, but they turn 18 in 2025: kept to 2035.
    patient = make_patient(clinic_a, date_of_birth=dt.date(2007, 3, 15))
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2012, 5, 1))
        holds = erasure_decision(patient, TODAY)
        assert {h.until for h in holds} == {dt.date(2035, 3, 15)}


def test_billing_is_kept_eight_years_after_its_financial_year(clinic_a, pinned):
    kept = make_patient(clinic_a)
    gone = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        invoice(clinic_a, kept, 2018)  # FY 2018-19 ends 31 Mar 2019: kept to 31 Mar 2027
        invoice(clinic_a, gone, 2017)  # FY 2017-18 ends 31 Mar 2018: kept to 31 Mar 2026
        assert [h.until for h in erasure_decision(kept, TODAY)] == [dt.date(2027, 3, 31)]
        assert erasure_decision(gone, TODAY) == []


def test_erasure_request_within_retention_restricts_hides_and_stops_messages(clinic_a, pinned):
    patient = make_patient(clinic_a, given_name="Kavya", family_name="Raghunathan")
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2024))
        request = request_for(clinic_a, patient, RightsRequest.Kind.ERASURE)
        done = rights_request_erase(request=request, actor=owner(clinic_a))
        patient.refresh_from_db()
        assert done.outcome == RightsRequest.Outcome.RESTRICTED and "2034" in done.outcome_note
        assert patient.restricted_at is not None and "Retention law" in patient.restriction_reason
        found = patient_search(user=owner(clinic_a), query="Kavya Raghunathan").rows()
        assert patient.pk not in [row.id for row in found]
        message = message_send_template(
            patient=patient, template_name="appointment_reminder", language="en", parameters=[], idempotency_key="r1"
        )
        assert (message.status, message.error) == ("failed", RESTRICTED)


def test_erasure_outside_retention_deletes_records_and_files_and_audits_only_counts(clinic_a, pinned):
    patient = make_patient(clinic_a, date_of_birth=dt.date(1970, 1, 1))
    with tenant_context(clinic_a.clinic):
        visit(clinic_a, patient, _at(2014))
        document = upload(clinic_a, patient)
        type(document).objects.filter(pk=document.pk).update(created_at=_at(2014))  # uploaded at that visit
        request = request_for(clinic_a, patient, RightsRequest.Kind.ERASURE)
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            done = rights_request_erase(request=request, actor=owner(clinic_a))
        assert done.outcome == RightsRequest.Outcome.ERASED and done.patient is None
        assert not Patient.objects.filter(pk=patient.pk).exists()
        assert not file_storage().exists(document.storage_name)
        event = AuditEvent.objects.filter(action="privacy.request_erase").latest("seq")
        assert event.metadata["rows"]["clinical"] == 1 and event.metadata["rows"]["documents"] == 1
        assert "Asha" not in str(event.metadata)


def test_patient_under_legal_hold_is_not_erased(clinic_a, pinned):
    patient = make_patient(clinic_a, legal_hold_at=NOW, legal_hold_reason="Consumer court case 114/2026")
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.ERASURE)
        with pytest.raises(ValidationError, match="legal hold"):
            rights_request_erase(request=request, actor=owner(clinic_a))
        assert Patient.objects.filter(pk=patient.pk).exists()
