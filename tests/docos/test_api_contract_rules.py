"""The rules that keep /api/v1 answering what its schema says (the live schemathesis run is
tests/test_api_contract.py; these pin each rule on its own, fast)."""

import pytest

from docos.api_errors import flat_fields
from tests.accounts.api_helpers import assert_error, bearer, make_token

OPENAPI_JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def owner_api(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["owner"])
    return client_for(clinic_a), bearer(secret)


@pytest.mark.parametrize("page", ["null", "0", "-1", "1.5", "٣", "99"])
def test_a_bad_or_past_the_end_page_is_a_400_naming_page(owner_api, page):
    client, auth = owner_api
    for path in ("/api/v1/patients", "/api/v1/appointments", "/api/v1/consent-templates", "/api/v1/staff"):
        error = assert_error(client.get(path, {"page": page}, **auth), 400, "invalid")
        assert list(error["fields"]) == ["page"], path


def test_lists_answer_count_next_previous_results(owner_api):
    client, auth = owner_api
    body = client.get("/api/v1/prescriptions", {"page": "1"}, **auth).json()
    assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize(
    "path", ["/api/v1/consents/abc%0A", "/api/v1/visits/a%0Ab", "/api/v1/consents/%0A/pdf", "/api/v1/x%0D%0Ay"]
)
def test_malformed_ids_with_newlines_get_the_json_404(owner_api, path):
    client, auth = owner_api
    assert_error(client.get(path, **auth), 404, "not_found")
    assert_error(client.patch(path, "{}", content_type="application/json", **auth), 404, "not_found")


def test_a_method_a_route_lacks_is_405_not_403(owner_api):
    client, auth = owner_api
    assert_error(client.patch("/api/v1/appointments", "{}", content_type="application/json", **auth), 405)
    assert_error(client.delete("/api/v1/consents", **auth), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/prescriptions", "{}", content_type="application/json", **auth), 405)


def test_a_body_that_is_not_json_is_415(owner_api, clinic_a):
    client, auth = owner_api
    form = {"given_name": "Asha", "registered_location": str(clinic_a.locations[0].pk)}
    assert_error(client.post("/api/v1/patients", form, **auth), 415, "unsupported_media_type")
    broken = client.post("/api/v1/patients", "{not json", content_type="application/json", **auth)
    assert_error(broken, 400, "parse_error")


def test_a_body_over_the_limit_is_413_not_500(owner_api):
    client, auth = owner_api
    client.raise_request_exception = False
    body = '{"given_name": "' + "a" * 3_000_000 + '"}'
    huge = client.post("/api/v1/patients", body, content_type="application/json", **auth)
    assert_error(huge, 413, "request_too_large")


def test_any_rfc3339_offset_is_understood_as_the_same_instant_in_utc():
    import datetime as dt

    from appointments.api import AwareDateTimeField

    # PostgreSQL refuses offsets beyond +-15:59 (this one was a 500 when booking).
    value = AwareDateTimeField().to_internal_value("2026-12-14T22:42:53+19:37")
    assert value == dt.datetime(2026, 12, 14, 3, 5, 53, tzinfo=dt.UTC)
    assert value.utcoffset() == dt.timedelta(0)


def test_any_accept_header_or_format_gets_json(owner_api):
    client, auth = owner_api
    for extra in ({"HTTP_ACCEPT": "application/pdf"}, {"HTTP_ACCEPT": "application/xml"}):
        response = client.get("/api/v1/me", **auth, **extra)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert client.get("/api/v1/me", {"format": "xml"}, **auth).status_code == 200
    missing = client.get(
        "/api/v1/prescriptions/00000000-0000-4000-8000-000000000000/pdf", HTTP_ACCEPT="application/pdf", **auth
    )
    assert_error(missing, 404, "not_found")


def test_nested_field_errors_are_named_by_dotted_paths():
    assert flat_fields({"items": [{}, {"drug_name": ["Required."]}], "tags": {"3": ["Too long."]}}) == {
        "items.1.drug_name": ["Required."],
        "tags.3": ["Too long."],
    }
    assert flat_fields(["Bad."]) == {"non_field_errors": ["Bad."]}
    assert flat_fields({"email": ["Taken."]}) == {"email": ["Taken."]}


def _schema(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    return response.json()


def test_every_operation_documents_its_errors_in_the_one_shape(clinic_a, client_for):
    schema = _schema(client_for(clinic_a))
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            if "{id}" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
                assert set(operation["requestBody"]["content"]) <= {"application/json", "multipart/form-data"}
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "400" in responses, (method, path)
            for status, response in responses.items():
                if status >= "400":
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_lists_are_documented_as_pages(clinic_a, client_for):
    schema = _schema(client_for(clinic_a))
    lists = [
        "/api/v1/appointments",
        "/api/v1/patients",
        "/api/v1/prescriptions",
        "/api/v1/consents",
        "/api/v1/certificates",
        "/api/v1/consent-templates",
        "/api/v1/certificate-templates",
        "/api/v1/locations",
        "/api/v1/staff",
        "/api/v1/patients/{id}/visits",
        "/api/v1/patients/{id}/documents",
    ]
    for path in lists:
        operation = schema["paths"][path]["get"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = schema["components"]["schemas"][ref.rpartition("/")[2]]
        assert ref.rpartition("/")[2].startswith("Paginated"), path
        assert component["required"] == ["count", "next", "previous", "results"]
        page = next(p for p in operation["parameters"] if p["name"] == "page")
        assert page["schema"]["minimum"] == 1


def test_create_operations_link_to_the_operations_that_take_their_id(clinic_a, client_for):
    schema = _schema(client_for(clinic_a))
    operation_ids = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    links = schema["paths"]["/api/v1/patients"]["post"]["responses"]["201"]["links"]
    assert links["patients_retrieve"]["parameters"] == {"path.id": "$response.body#/id"}
    assert links["appointments_list"]["parameters"] == {"query.patient": "$response.body#/id"}
    assert links["prescriptions_create"]["requestBody"] == {"patient": "$response.body#/id"}
    for path, method, expected in [
        ("/api/v1/appointments", "post", {"appointments_retrieve", "appointments_cancel", "appointments_complete"}),
        ("/api/v1/prescriptions", "post", {"prescriptions_retrieve", "prescriptions_sign", "prescriptions_pdf"}),
        ("/api/v1/patients/{id}/visits", "post", {"visits_retrieve", "visits_sign", "visits_addenda_create"}),
        ("/api/v1/consents", "post", {"consents_retrieve", "consents_pdf"}),
        ("/api/v1/certificates", "post", {"certificates_retrieve", "certificates_pdf"}),
        ("/api/v1/patients/{id}/documents", "post", {"documents_retrieve", "documents_download"}),
    ]:
        created = schema["paths"][path][method]["responses"]["201"]["links"]
        assert expected <= set(created), path
        assert {link["operationId"] for link in created.values()} <= operation_ids
