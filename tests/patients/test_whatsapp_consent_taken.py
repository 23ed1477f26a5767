"""WhatsApp consent is the patient's act: the registration box is never pre-ticked (also for a minor's
guardian), and a consent records who took it."""

from __future__ import annotations

import re

from patients.models import Patient
from tests.patients.test_registry_views import form_data


def _consent_box(html: str) -> str:
    (box,) = re.findall(r"<input[^>]*name=\"whatsapp_consent\"[^>]*>", html)
    return box


def test_the_consent_box_is_not_ticked_by_default(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    html = client.get("/patients/new").content.decode()
    assert "checked" not in _consent_box(html)
    assert "privacy notice" in html and "tick only if the patient" in html


def test_the_box_stays_as_the_user_left_it_when_the_form_comes_back_with_errors(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    page = client.post("/patients/new", form_data(clinic_a, given_name="", whatsapp_consent=""))
    assert page.status_code in (200, 400) and "checked" not in _consent_box(page.content.decode())


def test_a_minor_registered_without_ticking_has_no_consent(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    data = form_data(
        clinic_a,
        given_name="Aarav",
        date_of_birth="2018-03-02",
        guardian_name="Kavya Gowda",
        guardian_relation="Mother",
        guardian_phone="98860 12345",
    )
    del data["whatsapp_consent"]
    assert client.post("/patients/new", data).status_code == 302
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Aarav")
        assert patient.whatsapp_consent_at is None and patient.whatsapp_consent_taken_by_id is None


def test_consent_records_who_took_it_and_the_chart_says_so(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    assert client.post("/patients/new", form_data(clinic_a)).status_code == 302
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Kavya")
        assert patient.whatsapp_consent_at is not None
        assert patient.whatsapp_consent_taken_by_id == clinic_a.users["front_desk"].pk
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert f"taken by {clinic_a.users['front_desk'].full_name}" in chart

    doctor = client_for(clinic_a, "doctor")
    assert doctor.post(f"/patients/{patient.pk}/consent", {"decision": "consent", "source": "paper"}).status_code == 302
    with in_tenant(clinic_a):
        assert Patient.objects.get(pk=patient.pk).whatsapp_consent_taken_by_id == clinic_a.users["doctor"].pk
