"""/api/v1/patients: list and search, create, read, update; capabilities, locations, other clinics."""

import uuid

from patients.models import Patient
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.patients.registry_helpers import register, restrict


def body(seeded, **overrides):
    data = {
        "given_name": "Imran",
        "family_name": "Khan",
        "sex": "M",
        "date_of_birth": "1979-11-02",
        "phone": "+91-98450-77777",
        "registered_location": str(seeded.locations[0].pk),
        "whatsapp_consent": True,
    }
    data.update(overrides)
    return data


def test_front_desk_registers_a_patient_with_a_token(clinic_a, client_for, in_tenant):
    secret = make_token(clinic_a, clinic_a.users["front_desk"])
    response = client_for(clinic_a).post(
        "/api/v1/patients", body(clinic_a), content_type="application/json", **bearer(secret)
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["mrn"].startswith("ALPHA-") and data["phone"] == "+919845077777"
    assert data["whatsapp_consent"]["source"] == "api"
    assert data["registered_location"]["id"] == str(clinic_a.locations[0].pk)
    with in_tenant(clinic_a):
        assert Patient.objects.filter(pk=data["id"]).exists()


def test_pharmacist_cannot_register_through_the_api(clinic_a, client_for):
    client = client_for(clinic_a, "pharmacist")
    assert_error(client.post("/api/v1/patients", body(clinic_a), content_type="application/json"), 403)
    assert client.get("/api/v1/patients").status_code == 200


def test_validation_errors_name_the_fields(clinic_a, client_for):
    client = client_for(clinic_a, "front_desk")
    response = client.post(
        "/api/v1/patients",
        body(clinic_a, aadhaar_last4="234567890123", phone="12", date_of_birth="2020-01-01"),
        content_type="application/json",
    )
    error = assert_error(response, 400, "invalid")
    assert {"aadhaar_last4", "phone", "guardian_name", "guardian_phone", "guardian_relation"} <= set(error["fields"])
    assert "last 4 digits" in error["fields"]["aadhaar_last4"][0]


def test_possible_duplicate_answers_409_until_confirmed(clinic_a, client_for):
    existing = register(clinic_a, given_name="Imran", family_name="Khan", phone="98450 77777")
    client = client_for(clinic_a, "front_desk")
    response = client.post("/api/v1/patients", body(clinic_a), content_type="application/json")
    error = assert_error(response, 409, "possible_duplicate")
    assert existing.mrn in error["fields"]["confirm_duplicate"][0]
    confirmed = client.post("/api/v1/patients", body(clinic_a, confirm_duplicate=True), content_type="application/json")
    assert confirmed.status_code == 201


def test_list_searches_with_q(clinic_a, client_for):
    wanted = register(clinic_a, given_name="Sunita", family_name="Choudhary")
    register(clinic_a, given_name="Gopal", family_name="Krishnan")
    client = client_for(clinic_a, "front_desk")
    data = client.get("/api/v1/patients", {"q": "sunita chowdhury"}).json()
    assert [p["id"] for p in data["results"]] == [str(wanted.pk)]
    assert set(data) == {"count", "next", "previous", "results"}
    everyone = client.get("/api/v1/patients").json()
    assert everyone["count"] == 2


def test_retrieve_and_update(clinic_a, client_for, in_tenant):
    patient = register(clinic_a, given_name="Imran", family_name="Khan")
    client = client_for(clinic_a, "front_desk")
    data = client.get(f"/api/v1/patients/{patient.pk}").json()
    assert data["mrn"] == patient.mrn and data["guardian"]["name"] == ""
    patched = client.patch(
        f"/api/v1/patients/{patient.pk}", {"whatsapp_number": "099000 12345"}, content_type="application/json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["whatsapp_number"] == "+919900012345"
    put = client.put(
        f"/api/v1/patients/{patient.pk}",
        {"given_name": "Imraan", "registered_location": str(clinic_a.locations[0].pk)},
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["given_name"] == "Imraan"
    with in_tenant(clinic_a):
        patient.refresh_from_db()
    assert patient.name_key.startswith("imrn")
    assert_error(
        client_for(clinic_a, "pharmacist").patch(
            f"/api/v1/patients/{patient.pk}", {"given_name": "X"}, content_type="application/json"
        ),
        403,
    )


def test_patient_of_another_clinic_is_404(clinic_a, clinic_b, client_for):
    other = register(clinic_b)
    client = client_for(clinic_a, "owner")
    assert_error(client.get(f"/api/v1/patients/{other.pk}"), 404, "not_found")
    assert_error(client.patch(f"/api/v1/patients/{other.pk}", {}, content_type="application/json"), 404)
    assert_error(client.get(f"/api/v1/patients/{uuid.uuid4()}"), 404)


def test_restricted_staff_get_404_outside_their_locations(clinic_a, client_for):
    main = register(clinic_a, location_index=0)
    east = register(clinic_a, location_index=1)
    restrict(clinic_a, "front_desk", 1)
    client = client_for(clinic_a, "front_desk")
    assert_error(client.get(f"/api/v1/patients/{main.pk}"), 404)
    assert client.get(f"/api/v1/patients/{east.pk}").status_code == 200
    assert [p["id"] for p in client.get("/api/v1/patients").json()["results"]] == [str(east.pk)]
    response = client.post(
        "/api/v1/patients",
        body(clinic_a, registered_location=str(clinic_a.locations[0].pk)),
        content_type="application/json",
    )
    assert "registered_location" in assert_error(response, 400)["fields"]


def test_api_requires_authentication(clinic_a, client_for):
    assert_error(client_for(clinic_a).get("/api/v1/patients"), 401)


def test_patients_endpoints_are_in_the_schema(clinic_a, client_for):
    schema = client_for(clinic_a, "owner").get("/api/v1/schema/", {"format": "json"}).json()
    assert {"/api/v1/patients", "/api/v1/patients/{id}"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/patients/{id}"]) >= {"get", "patch", "put"}
