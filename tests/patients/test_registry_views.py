"""Registration, edit and chart pages: capabilities, validation messages, duplicate warning, timeline."""

import datetime as dt

from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical.models import Prescription, Visit
from patients.models import Patient
from tests.patients.registry_helpers import register, user


def form_data(seeded, **overrides):
    data = {
        "given_name": "Kavya",
        "family_name": "Gowda",
        "sex": "F",
        "date_of_birth": "1990-06-15",
        "age_years": "",
        "phone": "98860 12345",
        "whatsapp_number": "",
        "registered_location": str(seeded.locations[0].pk),
        "state": "Karnataka",
        "pin_code": "560034",
        "blood_group": "",
        "whatsapp_consent": "on",
    }
    data.update(overrides)
    return data


def test_front_desk_can_register_a_patient(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    assert client.get("/patients/new").status_code == 200
    response = client.post("/patients/new", form_data(clinic_a))
    assert response.status_code == 302
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Kavya")
        assert response["Location"] == f"/patients/{patient.pk}/"
        assert patient.phone == "+919886012345"
        assert patient.whatsapp_consent_source == "registration"
        assert patient.whatsapp_consent_notice_version
        assert patient.created_by_id == clinic_a.users["front_desk"].pk


def test_pharmacist_cannot_register_but_can_search(clinic_a, client_for):
    client = client_for(clinic_a, "pharmacist")
    assert client.get("/patients/new").status_code == 403
    assert client.post("/patients/new", form_data(clinic_a)).status_code == 403
    assert client.get("/patients/").status_code == 200


def test_staff_without_patients_view_cannot_open_the_registry(clinic_a, client_for):
    patient = register(clinic_a)
    client = client_for(clinic_a, "no_role")
    assert client.get("/patients/").status_code == 403
    assert client.get(f"/patients/{patient.pk}/").status_code == 403
    assert client_for(clinic_a).get("/patients/").status_code == 302  # anonymous: to the sign-in page


def test_registration_shows_duplicates_and_requires_register_anyway(clinic_a, client_for, in_tenant):
    existing = register(clinic_a, given_name="Kavya", family_name="Gowda", phone="98860 12345")
    client = client_for(clinic_a, "front_desk")
    response = client.post("/patients/new", form_data(clinic_a, family_name="Gouda"))
    assert response.status_code == 200
    assert b"Possible duplicates" in response.content
    assert existing.mrn.encode() in response.content
    assert b"Register anyway" in response.content
    with in_tenant(clinic_a):
        assert Patient.objects.filter(given_name="Kavya").count() == 1
    confirmed = client.post("/patients/new", form_data(clinic_a, family_name="Gouda", confirm_new_patient="on"))
    assert confirmed.status_code == 302
    with in_tenant(clinic_a):
        assert Patient.objects.filter(given_name="Kavya").count() == 2
        event = AuditEvent.objects.filter(action="patient.create").order_by("-seq").first()
        assert event.metadata["duplicate_warning_overridden"] is True


def test_validation_messages_are_shown_on_the_fields(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    response = client.post(
        "/patients/new",
        form_data(clinic_a, aadhaar_last4="2345 6789 0123", phone="12", pin_code="012345", given_name=""),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "never stores it" in body  # the Aadhaar message
    assert "Enter a phone number such as 98450 12345" in body
    assert "PIN code has 6 digits" in body
    assert "This field is required" in body


def test_date_of_birth_or_age_is_required_on_the_form(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    response = client.post("/patients/new", form_data(clinic_a, date_of_birth=""))
    assert b"Enter the date of birth, or the age" in response.content
    response = client.post("/patients/new", form_data(clinic_a, date_of_birth="", age_years="34"))
    assert response.status_code == 302
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Kavya")
    assert patient.dob_is_estimated and patient.age_years() == 34


def test_minor_registration_needs_guardian_details(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    response = client.post("/patients/new", form_data(clinic_a, date_of_birth="", age_years="6"))
    assert response.status_code == 200
    assert b"The patient is under 18: enter the guardian&#x27;s name" in response.content
    response = client.post(
        "/patients/new",
        form_data(
            clinic_a,
            date_of_birth="",
            age_years="6",
            guardian_name="Sunita Gowda",
            guardian_relation="Mother",
            guardian_phone="98860 99999",
        ),
    )
    assert response.status_code == 302


def test_edit_changes_details_and_keeps_the_mrn(clinic_a, client_for, in_tenant):
    patient = register(clinic_a, given_name="Kavya", family_name="Gowda")
    client = client_for(clinic_a, "front_desk")
    page = client.get(f"/patients/{patient.pk}/edit")
    assert page.status_code == 200 and b'value="Kavya"' in page.content
    data = form_data(clinic_a, family_name="Gowda-Rao", date_of_birth="1985-03-14", whatsapp_consent="")
    response = client.post(f"/patients/{patient.pk}/edit", data)
    assert response.status_code == 302
    with in_tenant(clinic_a):
        patient.refresh_from_db()
    assert patient.family_name == "Gowda-Rao" and patient.mrn.startswith("ALPHA-")
    assert client_for(clinic_a, "pharmacist").get(f"/patients/{patient.pk}/edit").status_code == 403


def _clinical_history(seeded, patient):
    with tenant_context(seeded.clinic):
        doctor = user(seeded, "doctor")
        visit = Visit.objects.create(
            patient=patient, location=seeded.locations[0], clinician=doctor, chief_complaint="Chest pain on exertion"
        )
        rx = Prescription.objects.create(patient=patient, location=seeded.locations[0], prescriber=doctor)
    return visit, rx


def test_front_desk_sees_demographics_but_not_clinical_entries(clinic_a, client_for):
    patient = register(clinic_a, given_name="Ravi", family_name="Shankar", allergies="Penicillin")
    visit, rx = _clinical_history(clinic_a, patient)
    page = client_for(clinic_a, "front_desk").get(f"/patients/{patient.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Ravi Shankar" in body and patient.mrn in body and "Registered" in body
    assert "Chest pain" not in body and f"/visits/{visit.pk}/" not in body
    assert f"/prescriptions/{rx.pk}/" not in body
    assert "shown to clinical staff only" in body


def test_doctor_sees_visits_and_prescriptions_in_the_timeline(clinic_a, client_for):
    patient = register(clinic_a, given_name="Ravi", family_name="Shankar")
    visit, rx = _clinical_history(clinic_a, patient)
    body = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/").content.decode()
    assert "Chest pain on exertion" in body
    assert f"/visits/{visit.pk}/" in body and f"/prescriptions/{rx.pk}/" in body
    assert f"/patients/{patient.pk}/visits/new" in body


def test_pharmacist_sees_prescriptions_but_not_visits(clinic_a, client_for):
    patient = register(clinic_a)
    _visit, rx = _clinical_history(clinic_a, patient)
    body = client_for(clinic_a, "pharmacist").get(f"/patients/{patient.pk}/").content.decode()
    assert f"/prescriptions/{rx.pk}/" in body and "Chest pain" not in body


def test_consent_decisions_are_recorded_from_the_chart(clinic_a, client_for, in_tenant):
    patient = register(clinic_a)
    client = client_for(clinic_a, "front_desk")
    url = f"/patients/{patient.pk}/consent"
    assert client.post(url, {"decision": "consent", "source": "verbal"}).status_code == 302
    with in_tenant(clinic_a):
        patient.refresh_from_db()
        assert patient.whatsapp_consent_source == "verbal" and patient.whatsapp_opted_out_at is None
    client.post(url, {"decision": "opt_out", "source": "whatsapp"})
    with in_tenant(clinic_a):
        patient.refresh_from_db()
        assert patient.whatsapp_opted_out_at is not None
    assert client_for(clinic_a, "pharmacist").post(url, {"decision": "consent", "source": "verbal"}).status_code == 403


def test_patient_list_empty_state_and_recent_patients(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    assert b"Register the first patient" in client.get("/patients/").content
    patient = register(clinic_a, given_name="Nandini", date_of_birth=dt.date(1990, 1, 1))
    body = client.get("/patients/").content.decode()
    assert "Recently registered" in body and patient.mrn in body


def test_other_apps_can_add_entries_to_the_chart_timeline(clinic_a, client_for, monkeypatch):
    from patients import selectors

    patient = register(clinic_a)

    def appointments(patient_, user_):
        return [selectors.TimelineEntry(kind="appointment", at=patient_.created_at, title="Appointment booked")]

    monkeypatch.setitem(selectors._TIMELINE_SOURCES, "appointments", appointments)
    body = client_for(clinic_a, "front_desk").get(f"/patients/{patient.pk}/").content.decode()
    assert "Appointment booked" in body


def test_a_birth_date_estimated_from_age_is_shown_as_about_a_year_never_as_a_date(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    client.post("/patients/new", form_data(clinic_a, given_name="Gurpreet", date_of_birth="", age_years="45"))
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Gurpreet")
    made_up = f"{patient.date_of_birth:%d %b %Y}"
    for page in (
        client.get(f"/patients/{patient.pk}/"),
        client.get("/patients/", {"q": "Gurpreet"}),
        client.get("/queue/walk-in", {"q": "Gurpreet"}),
    ):
        html = page.content.decode()
        assert page.status_code == 200 and "Gurpreet" in html
        assert made_up not in html
    picker = client.get("/queue/walk-in", {"q": "Gurpreet"}).content.decode()
    assert f"born about {patient.date_of_birth.year}" in picker
