import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from patients.models import Patient
from patients.services import (
    PossibleDuplicates,
    patient_create,
    patient_record_whatsapp_consent,
    patient_record_whatsapp_opt_out,
    patient_update,
)
from tests.patients.registry_helpers import register, unique_mobile, user


def test_mrn_comes_from_the_clinic_sequence_with_the_clinic_prefix(clinic_a, in_tenant):
    first = register(clinic_a)
    second = register(clinic_a, given_name="Ravi", family_name="Kumar")
    assert re.fullmatch(r"ALPHA-\d{6}", first.mrn)
    assert int(second.mrn.split("-")[1]) == int(first.mrn.split("-")[1]) + 1


def test_each_clinic_numbers_its_own_patients(clinic_a, clinic_b):
    a = register(clinic_a)
    b = register(clinic_b)
    assert a.mrn.startswith("ALPHA-") and b.mrn.startswith("BETA-")


@pytest.mark.parametrize(
    "typed",
    ["098450 12345", "+91-98450-12345", "98450 12345", "919845012345", "0091 98450 12345", "(+91) 98450-12345"],
)
def test_phone_numbers_in_any_indian_format_are_stored_as_e164(clinic_a, typed):
    patient = register(clinic_a, phone=typed)
    assert patient.phone == "+919845012345"
    assert "9845012345" in patient.phone_digits.split()


def test_whatsapp_number_may_differ_from_the_phone(clinic_a):
    patient = register(clinic_a, phone="080-2345 6789", whatsapp_number="98450 54321")
    assert patient.phone == "+918023456789"
    assert patient.whatsapp_number == "+919845054321"
    assert patient.contact_number == "+919845054321"


def test_landline_is_refused_as_whatsapp_number(clinic_a):
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, whatsapp_number="080-2345 6789")
    assert "mobile" in exc.value.message_dict["whatsapp_number"][0]


def test_invalid_phone_is_refused_with_an_example(clinic_a):
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, phone="12345")
    assert "98450 12345" in exc.value.message_dict["phone"][0]


def test_full_aadhaar_number_is_refused_with_a_clear_message(clinic_a):
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, aadhaar_last4="2345 6789 0123")
    message = exc.value.message_dict["aadhaar_last4"][0]
    assert "full Aadhaar number" in message and "last 4 digits" in message


def test_aadhaar_last_four_digits_are_stored(clinic_a):
    assert register(clinic_a, aadhaar_last4="1234").aadhaar_last4 == "1234"


def test_aadhaar_number_in_free_text_is_refused(clinic_a):
    # 2345 6789 0124 carries a valid Verhoeff check digit, like a real Aadhaar number.
    from patients.services import verhoeff_valid

    number = next(f"23456789012{d}" for d in range(10) if verhoeff_valid(f"23456789012{d}"))
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, address=f"Aadhaar {number[:4]} {number[4:8]} {number[8:]}, 12 MG Road")
    assert "Aadhaar" in exc.value.message_dict["address"][0]


def test_twelve_digits_in_the_abha_field_are_called_out_as_aadhaar(clinic_a):
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, abha_number="2345 6789 0123")
    assert "Aadhaar" in exc.value.message_dict["abha_number"][0]


def test_abha_number_is_validated_and_formatted(clinic_a):
    assert register(clinic_a, abha_number="12345678901234").abha_number == "12-3456-7890-1234"
    with pytest.raises(ValidationError):
        register(clinic_a, abha_number="1234-5678")


def test_abha_number_is_unique_in_the_clinic(clinic_a):
    register(clinic_a, abha_number="12-3456-7890-1234")
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, abha_number="12 3456 7890 1234", given_name="Other")
    assert "already recorded" in exc.value.message_dict["abha_number"][0]


def test_minor_needs_a_guardian(clinic_a, clock):
    today = timezone.localdate()  # pinned (tests/clock.py): never 29 February, which other years lack
    child_dob = today.replace(year=today.year - 7)
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, given_name="Aarav", date_of_birth=child_dob)
    assert set(exc.value.message_dict) >= {"guardian_name", "guardian_relation", "guardian_phone"}
    child = register(
        clinic_a,
        given_name="Aarav",
        date_of_birth=child_dob,
        phone="",
        guardian_name="Sunita Verma",
        guardian_relation="Mother",
        guardian_phone="98450 11111",
    )
    assert child.is_minor and child.contact_number == "+919845011111"


def test_estimated_age_is_stored_as_an_estimated_date_of_birth(clinic_a):
    from patients.services import estimated_dob

    patient = register(clinic_a, date_of_birth=estimated_dob(40), dob_is_estimated=True)
    assert patient.dob_is_estimated and patient.age_years() == 40


def test_state_pin_and_blood_group_are_normalised(clinic_a):
    patient = register(clinic_a, state="KA", pin_code="560 034", blood_group="b +ve")
    assert (patient.state, patient.pin_code, patient.blood_group) == ("Karnataka", "560034", "B+")
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, pin_code="056003", state="Gondwana")
    assert set(exc.value.message_dict) == {"pin_code", "state"}


def test_create_writes_an_audit_event_without_phi(clinic_a, in_tenant):
    patient = register(clinic_a, given_name="Meenakshi")
    with in_tenant(clinic_a):
        event = AuditEvent.objects.get(action="patient.create", object_id=str(patient.pk))
    assert "given_name" in event.changed_fields
    assert "Meenakshi" not in str(event.metadata) and patient.phone not in str(event.metadata)


def test_duplicate_phone_warns_before_creating(clinic_a, in_tenant):
    existing = register(clinic_a, given_name="Ravi", family_name="Kumar")
    with in_tenant(clinic_a):
        owner = user(clinic_a, "owner")
        with pytest.raises(PossibleDuplicates) as exc:
            patient_create(
                actor=owner,
                given_name="Ravi",
                family_name="Kumaar",
                phone=existing.phone,
                registered_location=clinic_a.locations[0],
            )
        assert [c.patient.pk for c in exc.value.candidates] == [existing.pk]
        assert "same phone number" in exc.value.candidates[0].reasons
        assert not Patient.objects.filter(family_name="Kumaar").exists()
        created = patient_create(
            actor=owner,
            duplicates_confirmed=True,
            given_name="Ravi",
            family_name="Kumaar",
            phone=existing.phone,
            registered_location=clinic_a.locations[0],
        )
        assert created.pk != existing.pk


def test_similar_name_with_same_birth_date_warns(clinic_a, in_tenant):
    existing = register(clinic_a, given_name="Mohammed", family_name="Choudhary", date_of_birth=dt.date(1980, 1, 2))
    with in_tenant(clinic_a), pytest.raises(PossibleDuplicates) as exc:
        patient_create(
            actor=user(clinic_a, "owner"),
            given_name="Muhammad",
            family_name="Chaudhari",
            date_of_birth=dt.date(1980, 1, 2),
            phone=unique_mobile(),
            registered_location=clinic_a.locations[0],
        )
    assert exc.value.candidates[0].patient.pk == existing.pk
    assert "similar name" in exc.value.candidates[0].reasons[0]


def test_same_name_different_birth_date_and_phone_is_not_a_duplicate(clinic_a, in_tenant):
    register(clinic_a, given_name="Ravi", family_name="Kumar", date_of_birth=dt.date(1980, 1, 2))
    other = register(
        clinic_a, given_name="Ravi", family_name="Kumar", date_of_birth=dt.date(1999, 5, 6), duplicates_confirmed=False
    )
    assert other.pk


def test_update_recomputes_search_keys_and_audits_changed_fields(clinic_a, in_tenant):
    patient = register(clinic_a, given_name="Laxmi", family_name="Sharma")
    with in_tenant(clinic_a):
        changed = patient_update(patient=patient, actor=user(clinic_a, "owner"), family_name="Rao", phone="98450 99999")
        patient.refresh_from_db()
        event = AuditEvent.objects.filter(action="patient.update", object_id=str(patient.pk)).get()
    assert set(changed) == {"family_name", "phone"}
    assert patient.name_key == "lksm r" and {"lk", "lksm"} <= set(patient.search_words)
    assert "9845099999" in patient.phone_digits
    assert set(event.changed_fields) == {"family_name", "phone"}


def test_whatsapp_consent_records_time_source_and_notice_version(clinic_a, in_tenant):
    patient = register(clinic_a)
    with in_tenant(clinic_a):
        owner = user(clinic_a, "owner")
        patient_record_whatsapp_consent(patient=patient, actor=owner, source="paper", notice_version_shown="2025-2")
        patient.refresh_from_db()
        assert patient.whatsapp_consent_source == "paper"
        assert patient.whatsapp_consent_notice_version == "2025-2"
        assert patient.whatsapp_consent_at is not None
        patient_record_whatsapp_opt_out(patient=patient, actor=owner, source="whatsapp")
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at is not None
        actions = list(
            AuditEvent.objects.filter(object_id=str(patient.pk)).order_by("seq").values_list("action", flat=True)
        )
    assert actions[-2:] == ["patient.whatsapp_consent", "patient.whatsapp_opt_out"]


def test_restricted_staff_register_only_at_their_locations(clinic_a, in_tenant):
    from tests.patients.registry_helpers import restrict

    restrict(clinic_a, "front_desk", 0)
    with pytest.raises(ValidationError) as exc:
        register(clinic_a, actor_role="front_desk", location_index=1)
    assert "your own locations" in exc.value.message_dict["registered_location"][0]
    assert register(clinic_a, actor_role="front_desk", location_index=0).pk
