"""Each doctor's favourite medicines: starred from the favourites page or the API, offered first in
that doctor's medicine search (never another doctor's), listed on the consultation screen, removed
by their owner only; the API also lists templates and the lines to repeat the last prescription."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical import drug_reference
from clinical.models import FavouriteMedicine
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.clinical.clinical_helpers import (
    ITEM,
    clinic_files,  # noqa: F401  (fixture)
    make_patient,
    signed_prescription,
    staff,
)

pytestmark = pytest.mark.usefixtures("clinic_files")
PAN = drug_reference.brand_named("Pan 40")
REG_NO = "KMC-12345"


def _names(response):
    return [(row["name"], row["favourite"]) for row in response.json()["results"]]


def test_a_starred_medicine_comes_first_in_that_doctors_search_only(clinic_a, client_for):
    doctor = client_for(clinic_a, "doctor")
    before = _names(doctor.get("/formulary/search?q=pan"))
    assert before[0] != ("Pan 40", True)
    starred = doctor.post("/favourite-medicines/add", {"key": PAN.key, "next": "/favourite-medicines/?q=pan"})
    assert starred.status_code == 302 and starred["Location"] == "/favourite-medicines/?q=pan"
    assert _names(doctor.get("/formulary/search?q=pan"))[0] == ("Pan 40", True)
    assert _names(doctor.get("/formulary/search?q=pantop"))[0] == ("Pan 40", True)  # by its generic too
    # The owner (another prescriber of the same clinic) does not get this doctor's favourite.
    assert ("Pan 40", True) not in _names(client_for(clinic_a, "owner").get("/formulary/search?q=pan"))
    page = doctor.get("/favourite-medicines/").content.decode()
    assert "Pan 40" in page and "Remove" in page
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="favourite_medicine.create").count() == 1


def test_starring_twice_keeps_one_and_an_unknown_key_is_refused(clinic_a, client_for):
    doctor = client_for(clinic_a, "doctor")
    doctor.post("/favourite-medicines/add", {"key": PAN.key})
    doctor.post("/favourite-medicines/add", {"key": PAN.key})
    refused = doctor.post("/favourite-medicines/add", {"key": "brand:no-such-pill"}, follow=True)
    assert "not in the formulary" in refused.content.decode()
    with tenant_context(clinic_a.clinic):
        assert FavouriteMedicine.objects.count() == 1


def test_a_clinic_formulary_drug_can_be_a_favourite(clinic_a, client_for):
    patient = make_patient(clinic_a)
    signed_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Kadha Syrup", "free_text": True}])
    doctor = client_for(clinic_a, "doctor")
    option = next(row for row in doctor.get("/formulary/search?q=kadha").json()["results"] if row["source"] == "clinic")
    doctor.post("/favourite-medicines/add", {"key": option["key"]})
    first = doctor.get("/formulary/search?q=kad").json()["results"][0]
    assert (first["source"], first["id"], first["favourite"]) == ("clinic", option["id"], True)


def test_the_consultation_screen_lists_the_doctors_favourites(clinic_a, client_for):
    patient = make_patient(clinic_a)
    doctor = client_for(clinic_a, "doctor")
    assert "Star the medicines you prescribe often" in doctor.get(f"/consult/{patient.pk}").content.decode()
    doctor.post("/favourite-medicines/add", {"key": PAN.key})
    page = doctor.get(f"/consult/{patient.pk}").content.decode()
    assert 'data-favourite data-id="" data-name="Pan 40"' in page and 'data-strength="40 mg"' in page


def test_only_the_owner_removes_a_favourite(clinic_a, client_for):
    doctor = client_for(clinic_a, "doctor")
    doctor.post("/favourite-medicines/add", {"key": PAN.key})
    with tenant_context(clinic_a.clinic):
        favourite = FavouriteMedicine.objects.get()
    assert client_for(clinic_a, "owner").post(f"/favourite-medicines/{favourite.pk}/delete").status_code == 404
    assert doctor.post(f"/favourite-medicines/{uuid.uuid4()}/delete").status_code == 404
    assert doctor.post(f"/favourite-medicines/{favourite.pk}/delete").status_code == 302
    with tenant_context(clinic_a.clinic):
        assert not FavouriteMedicine.objects.exists()


def test_front_desk_has_no_favourites(clinic_a, client_for):
    desk = client_for(clinic_a, "front_desk")
    assert desk.get("/favourite-medicines/").status_code == 403
    assert desk.post("/favourite-medicines/add", {"key": PAN.key}).status_code == 403


def test_favourites_through_the_api(clinic_a, client_for):
    auth = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    client = client_for(clinic_a)
    created = client.post("/api/v1/medicines/favourites", {"key": PAN.key}, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["strength"], body["drug"]) == ("Pan 40", "40 mg", None)
    listed = client.get("/api/v1/medicines/favourites", **auth).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    search = client.get("/api/v1/medicines?q=pan", **auth).json()["results"]
    assert (search[0]["name"], search[0]["favourite"]) == ("Pan 40", True)
    unknown = client.post("/api/v1/medicines/favourites", {"key": "x"}, content_type="application/json", **auth)
    assert_error(unknown, 400)
    other = bearer(make_token(clinic_a, clinic_a.users["owner"]))
    assert_error(client.delete(f"/api/v1/medicines/favourites/{body['id']}", **other), 404)
    assert client.delete(f"/api/v1/medicines/favourites/{body['id']}", **auth).status_code == 204
    assert client.get("/api/v1/medicines/favourites", **auth).json()["results"] == []


def test_templates_and_repeat_through_the_api(clinic_a, client_for):
    staff(clinic_a, "doctor", registration_number=REG_NO)
    patient = make_patient(clinic_a, given_name="Farida")
    auth = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    client = client_for(clinic_a)
    empty = client.get(f"/api/v1/patients/{patient.pk}/repeat-prescription", **auth).json()
    assert empty == {"prescription": None, "signed_at": None, "items": []}
    prescription = signed_prescription(clinic_a, patient)
    repeat = client.get(f"/api/v1/patients/{patient.pk}/repeat-prescription", **auth).json()
    assert repeat["prescription"] == str(prescription.pk)
    assert [line["drug_name"] for line in repeat["items"]] == [ITEM["drug_name"]]
    assert repeat["items"][0]["dose"] == ITEM["dose"]
    made = client.post(
        "/api/v1/prescription-templates",
        {"prescription": str(prescription.pk), "name": "URTI adult"},
        content_type="application/json",
        **auth,
    )
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "URTI adult" and made.json()["items"][0]["drug_name"] == ITEM["drug_name"]
    listed = client.get("/api/v1/prescription-templates", **auth).json()["results"]
    assert [row["name"] for row in listed] == ["URTI adult"]
    other = bearer(make_token(clinic_a, clinic_a.users["owner"]))
    assert client.get("/api/v1/prescription-templates", **other).json()["results"] == []
    assert_error(client.delete(f"/api/v1/prescription-templates/{made.json()['id']}", **other), 404)
    assert client.delete(f"/api/v1/prescription-templates/{made.json()['id']}", **auth).status_code == 204
    desk = bearer(make_token(clinic_a, clinic_a.users["front_desk"]))
    assert_error(client.get(f"/api/v1/patients/{patient.pk}/repeat-prescription", **desk), 403)
