import re

from accounts.models import Location, Role, User
from patients import demo
from patients.models import Patient, PatientAccessGrant


def test_demo_seed_registers_realistic_patients(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        created = demo.seed_patients()
        patients = list(Patient.objects.all())
        assert demo.seed_patients() == []  # only once
    assert 38 <= len(created) == len(patients) <= 45
    assert all(re.fullmatch(r"\+91[6-9]\d{9}", p.phone) for p in patients if p.phone)
    assert all(re.fullmatch(r"560\d{3}", p.pin_code) and p.city == "Bengaluru" for p in patients)
    minors = [p for p in patients if p.is_minor]
    assert len(minors) >= 2
    assert all(p.guardian_name and p.guardian_relation and p.guardian_phone for p in minors)
    assert all(p.contact_number == p.guardian_phone for p in minors)
    consented = [p for p in patients if p.whatsapp_consent_at]
    assert len(consented) > len(patients) * 0.7
    assert any(p.allergies for p in patients) and any(p.dob_is_estimated for p in patients)
    assert len({p.name_key for p in patients}) == len(patients)


def test_demo_opens_one_koramangala_patient_for_the_indiranagar_doctor(clinic_a, in_tenant):
    """The demo's one-branch doctor has opened one patient of the other branch (with a reason)."""
    with in_tenant(clinic_a):
        Location.objects.filter(pk=clinic_a.locations[0].pk).update(name="Koramangala")
        doctor = User.objects.create_user(
            "indiranagar@demo.docos.in", "x" * 20, full_name="Dr. Sameer Khan", role=Role.objects.get(slug="doctor")
        )
        doctor.locations.set([clinic_a.locations[1]])
        demo.seed(clinic_a.clinic)
        grant = PatientAccessGrant.objects.get(user=doctor)
        assert grant.patient.registered_location.name == "Koramangala"
        assert "follow-up" in grant.reason


def test_demo_has_a_finished_import_with_a_held_row_and_a_follow_up(clinic_a, in_tenant, settings):
    from patients.models import PatientImport
    from patients.services import GUARDIAN_FOLLOW_UP_TAG

    settings.STORAGES = {**settings.STORAGES, "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with in_tenant(clinic_a):
        demo.seed_patients()
        demo.seed_import()
        done = PatientImport.objects.get()
        assert done.status == "done"
        counts = (done.created_count, done.skipped_count, done.held_count, done.error_count)
        assert counts == (2, 1, 1, 0)
        ananya = Patient.objects.get(given_name="Tanvi", family_name="Rao")
        assert GUARDIAN_FOLLOW_UP_TAG in ananya.tags and done.follow_up == [str(ananya.pk)]
        demo.seed_import()  # only once
        assert PatientImport.objects.count() == 1


def test_demo_consent_log_has_a_guardian_consent_and_a_marketing_withdrawal(clinic_a, in_tenant):
    import time_machine

    from patients import consents
    from tests.clock import CLINIC_MORNING

    with time_machine.travel(CLINIC_MORNING, tick=True), in_tenant(clinic_a):
        demo.seed_patients()
        demo.seed_consents()
        demo.seed_consents()  # only once
        people = {p.full_name: p for p in Patient.objects.all()}
        diya, priya = people["Diya Reddy"], people["Priya Nair"]
        reminders = consents.consent_latest(diya, "whatsapp_reminders")
        assert reminders is not None and (reminders.given_by, reminders.guardian_name) == ("guardian", "Srinivas Reddy")
        assert consents.consent_allows(diya, "whatsapp_reminders") == (True, "")
        assert consents.consent_allows(diya, "marketing") == (True, "")
        assert consents.consent_allows(priya, "marketing") == (False, "consent_withdrawn")
        assert consents.consent_allows(priya, "whatsapp_reminders") == (True, "")
        assert priya.consent_log.filter(purpose="marketing").count() == 2
