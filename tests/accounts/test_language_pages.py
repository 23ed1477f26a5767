"""Hindi across the staff pages, not only the shell: a Hindi user sees the patients list, the day list
and the consultation screen in Hindi, and every main page renders in Hindi (no template breaks when
its strings are translated). Data (patient and drug names) stays as entered."""

from __future__ import annotations

import pytest

from tests.accounts.test_language import set_language
from tests.appointments.helpers import make_patient
from tests.clinical.clinical_helpers import clinic_files  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("clinic_files")


def _hindi(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Language"] == "hi"
    return response.content.decode()


def test_a_hindi_doctor_sees_the_patients_list_day_list_and_consultation_in_hindi(
    clinic_a, client_for, in_tenant, clock
):
    set_language(clinic_a, "doctor", "hi", in_tenant)
    patient = make_patient(clinic_a, given_name="Harpreet", family_name="Kaur")
    doctor = client_for(clinic_a, "doctor")

    patients = _hindi(doctor.get("/patients/"))
    assert "मरीज़ खोजें" in patients and "नाम, फ़ोन, MRN या ABHA नंबर" in patients
    assert "Find a patient" not in patients
    assert "Harpreet Kaur" in patients  # a name is data: never translated

    day = _hindi(doctor.get(f"/appointments/?location={clinic_a.locations[0].pk}"))
    assert "सभी डॉक्टर" in day and "दिखाएँ" in day
    assert "All doctors" not in day

    consult = _hindi(doctor.get(f"/consult/{patient.pk}"))
    for text in ("चार्ट सारांश", "एलर्जी", "पिछली विज़िट", "दवा जोड़ें", "ड्राफ़्ट सेव करें", "डायग्नोसिस"):
        assert text in consult, text
    for text in ("Chart summary", "Add medicine", "Save draft"):
        assert text not in consult, text


def test_every_main_page_renders_in_hindi(clinic_a, client_for, in_tenant, clock):
    for role in ("doctor", "owner"):
        set_language(clinic_a, role, "hi", in_tenant)
    patient = make_patient(clinic_a, given_name="Harpreet")
    location = clinic_a.locations[0].pk
    doctor_pages = [
        "/",
        "/patients/",
        "/patients/?q=Harp",
        "/patients/?q=zzzz",
        "/patients/new",
        f"/patients/{patient.pk}/",
        f"/appointments/?location={location}",
        f"/appointments/calendar?location={location}",
        f"/appointments/calendar?location={location}&view=week",
        "/appointments/mine",
        f"/queue/?location={location}",
        f"/consult/{patient.pk}",
        f"/patients/{patient.pk}/visits/new",
        f"/patients/{patient.pk}/prescriptions/new",
        "/visits/",
        "/prescriptions/",
        "/favourite-medicines/",
        "/favourite-medicines/?q=dolo",
        "/prescription-templates/",
    ]
    doctor = client_for(clinic_a, "doctor")
    for page in doctor_pages:
        assert doctor.get(page).status_code == 200, page
        assert doctor.get(page).headers["Content-Language"] == "hi", page
    owner = client_for(clinic_a, "owner")
    for page in ("/settings/", "/"):
        assert _hindi(owner.get(page)), page
