"""Search by phone, MRN and ABHA; location scoping of search and of the chart."""

from django_tenants.utils import tenant_context

from clinical.models import Visit
from patients.selectors import patient_search
from tests.patients.registry_helpers import register, restrict, user


def found(seeded, query, role="owner"):
    with tenant_context(seeded.clinic):
        result = patient_search(user=user(seeded, role), query=query)
        return result.kind, [p.pk for p in result.rows(0, 50)]


def test_phone_in_any_format_finds_the_patient(clinic_a):
    patient = register(clinic_a, phone="98450 12345")
    register(clinic_a, given_name="Other", phone="98450 54321")
    for typed in ("98450 12345", "+91-98450-12345", "098450 12345", "919845012345", "+91 9845012345"):
        assert found(clinic_a, typed) == ("phone", [patient.pk]), typed


def test_last_digits_of_a_phone_find_the_patient(clinic_a):
    patient = register(clinic_a, phone="98450 12345")
    register(clinic_a, given_name="Other", phone="98450 54321")
    assert found(clinic_a, "12345")[1] == [patient.pk]
    assert found(clinic_a, "2345")[1] == [patient.pk]
    assert set(found(clinic_a, "98450")[1]) >= {patient.pk}


def test_whatsapp_and_guardian_numbers_are_searchable(clinic_a):
    patient = register(clinic_a, phone="98450 12345", whatsapp_number="99000 11111")
    assert found(clinic_a, "99000 11111")[1] == [patient.pk]
    assert found(clinic_a, "11111")[1] == [patient.pk]


def test_mrn_and_abha_find_the_patient(clinic_a):
    patient = register(clinic_a, abha_number="91-2345-6789-0123")
    number = int(patient.mrn.split("-")[1])
    assert found(clinic_a, patient.mrn) == ("mrn", [patient.pk])
    assert found(clinic_a, patient.mrn.lower())[1] == [patient.pk]
    assert found(clinic_a, f"alpha{number}")[1] == [patient.pk]
    assert patient.pk in found(clinic_a, str(number))[1]
    assert found(clinic_a, "91234567890123") == ("abha", [patient.pk])
    assert found(clinic_a, "91-2345-6789-0123") == ("abha", [patient.pk])


def test_restricted_staff_find_only_patients_of_their_locations(clinic_a, in_tenant):
    main = register(clinic_a, given_name="Harini", family_name="Rao", location_index=0)
    east = register(clinic_a, given_name="Harini", family_name="Reddy", location_index=1)
    restrict(clinic_a, "front_desk", 1)
    assert found(clinic_a, "Harini", "front_desk")[1] == [east.pk]
    assert set(found(clinic_a, "Harini", "owner")[1]) == {main.pk, east.pk}
    # A visit at the user's location makes the patient visible there too.
    with in_tenant(clinic_a):
        Visit.objects.create(patient=main, location=clinic_a.locations[1], clinician=user(clinic_a, "doctor"))
    assert set(found(clinic_a, "Harini", "front_desk")[1]) == {main.pk, east.pk}


def test_chart_of_a_patient_outside_the_users_locations_is_404(clinic_a, client_for):
    main = register(clinic_a, location_index=0)
    east = register(clinic_a, location_index=1)
    restrict(clinic_a, "front_desk", 1)
    client = client_for(clinic_a, "front_desk")
    assert client.get(f"/patients/{main.pk}/").status_code == 404
    assert client.get(f"/patients/{east.pk}/").status_code == 200
    assert client.get(f"/patients/{main.pk}/edit").status_code == 404


def test_patient_of_another_clinic_is_404(clinic_a, clinic_b, client_for):
    other = register(clinic_b)
    client = client_for(clinic_a, "owner")
    assert client.get(f"/patients/{other.pk}/").status_code == 404
    assert client.get(f"/patients/{other.pk}/edit").status_code == 404
    response = client.get("/patients/", {"q": other.mrn})
    assert b'class="pt-result"' not in response.content and str(other.pk).encode() not in response.content


def test_search_fragment_renders_results_for_search_as_you_type(clinic_a, client_for):
    patient = register(clinic_a, given_name="Lakshmi", family_name="Iyer")
    client = client_for(clinic_a, "front_desk")
    fragment = client.get("/patients/", {"q": "laxmi", "fragment": "1"})
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content
    assert f"/patients/{patient.pk}/".encode() in fragment.content
    page = client.get("/patients/", {"q": "laxmi"})
    assert b"<html" in page.content and b"js/patients.js" in page.content
    assert b"<script>" not in page.content  # CSP: no inline scripts


def test_empty_search_offers_registration(clinic_a, client_for):
    response = client_for(clinic_a, "front_desk").get("/patients/", {"q": "Zzyzx"})
    assert b"No patient matches" in response.content
    assert b"/patients/new?q=Zzyzx" in response.content


def test_search_is_paginated(clinic_a, client_for, in_tenant):
    for i in range(55):
        register(clinic_a, given_name="Pavithra", family_name=f"Test{i:02d}")
    client = client_for(clinic_a, "owner")
    first = client.get("/patients/", {"q": "Pavithra"})
    assert first.content.count(b'class="pt-result"') == 50
    assert b"page=2" in first.content
    second = client.get("/patients/", {"q": "Pavithra", "page": "2"})
    assert second.content.count(b'class="pt-result"') == 5
