"""Correction: a versioned change with the reason (the values before and after kept), audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from patients.models import PatientCorrection
from privacy.models import RightsRequest
from privacy.services import rights_request_correct
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import owner, request_for


def test_correction_keeps_the_old_value_as_a_version_with_the_reason(clinic_a):
    patient = make_patient(clinic_a, date_of_birth=dt.date(1990, 5, 1))
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.CORRECTION)
        rights_request_correct(
            request=request, actor=owner(clinic_a), reason="Aadhaar card shown at the desk",
            fields={"date_of_birth": dt.date(1991, 5, 1)},
        )  # fmt: skip
        patient.refresh_from_db()
        correction = PatientCorrection.objects.get(patient=patient)
        assert patient.date_of_birth == dt.date(1991, 5, 1)
        assert correction.version == 1 and correction.reason == "Aadhaar card shown at the desk"
        assert correction.changes == {"date_of_birth": {"from": "1990-05-01", "to": "1991-05-01"}}
        assert correction.reference == request.reference
        event = AuditEvent.objects.filter(action="patient.correct", object_id=str(patient.pk)).latest("seq")
        assert event.changed_fields == ["date_of_birth"] and "1990" not in str(event.metadata)


def test_correction_without_a_reason_is_refused(clinic_a, client_for):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        request = request_for(clinic_a, patient, RightsRequest.Kind.CORRECTION)
        with pytest.raises(ValidationError, match="Say why"):
            rights_request_correct(request=request, actor=owner(clinic_a), reason=" ", fields={"given_name": "Aasha"})
    page = client_for(clinic_a, "owner").post(
        f"/settings/privacy/{request.pk}/correct/", {"given_name": "Aasha", "family_name": "Verma", "sex": "F"}
    )
    assert page.status_code == 200 and "This field is required" in page.content.decode()
