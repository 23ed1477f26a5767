"""Lists of clinicians (booking, visits, certificates, the calendar's columns) name only the people
who see patients in consultation, and a booking for anyone else is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.selectors import clinician_choices, is_clinician
from tests.appointments.helpers import at, book, make_patient, next_weekday


def test_clinicians_are_the_staff_who_sign_clinical_notes(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        names = set(clinician_choices().values_list("email", flat=True))
        users = clinic_a.users
        assert users["doctor"].email in names and users["owner"].email in names
        for role in ("nurse", "front_desk", "administrator", "pharmacist"):
            if role in users:
                assert users[role].email not in names, role
                assert not is_clinician(users[role])


def test_the_booking_form_offers_no_nurse_and_the_service_refuses_one(clinic_a, client_for, clock):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "front_desk")
    page = client.get(f"/appointments/new?patient={patient.pk}").content.decode()
    assert clinic_a.users["doctor"].full_name in page
    assert clinic_a.users["nurse"].full_name not in page
    starts_at = at(next_weekday(2), 10)
    with pytest.raises(ValidationError) as refused:
        book(clinic_a, patient=patient, starts_at=starts_at, clinician=clinic_a.users["nurse"])
    assert "clinician" in refused.value.message_dict
