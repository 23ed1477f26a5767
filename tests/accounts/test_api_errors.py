"""Every error under /api/v1/ has the shape {"error": {"code", "message", "fields"}}."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.test import RequestFactory

from docos.api_errors import exception_handler
from tests.accounts.api_helpers import assert_error, bearer, make_token


def test_400_validation_error_names_the_fields(clinic_a, client_for):
    error = assert_error(client_for(clinic_a, "owner").get("/api/v1/staff", {"role": "Not A Slug!"}), 400, "invalid")
    assert list(error["fields"]) == ["role"]
    assert all(isinstance(message, str) for message in error["fields"]["role"])


def test_401_anonymous(clinic_a, client_for):
    assert_error(client_for(clinic_a).get("/api/v1/staff"), 401, "not_authenticated")


def test_403_missing_capability(clinic_a, client_for):
    assert_error(client_for(clinic_a, "no_role").get("/api/v1/staff"), 403, "permission_denied")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/", "/api/v1/me/", "/api/v1/staff/not-a-uuid"])
def test_404_for_unknown_api_urls_is_json(clinic_a, client_for, path):
    assert_error(client_for(clinic_a).get(path), 404, "not_found")
    assert_error(client_for(clinic_a, "owner").get(path), 404, "not_found")


def test_404_for_unknown_api_url_on_post_without_csrf_token_is_still_json(clinic_a, client_for):
    client = client_for(clinic_a, "owner", enforce_csrf_checks=True)
    assert_error(client.post("/api/v1/nope", {"a": "b"}), 404, "not_found")
    assert_error(client.delete("/api/v1/nope/deeper"), 404, "not_found")


def test_404_missing_object(clinic_a, client_for):
    assert_error(
        client_for(clinic_a, "owner").get("/api/v1/staff/00000000-0000-4000-8000-000000000000"), 404, "not_found"
    )


def test_405_method_not_allowed(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["owner"])
    client = client_for(clinic_a)
    assert_error(client.delete("/api/v1/me", **bearer(secret)), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/staff", {}, content_type="application/json", **bearer(secret)), 405)


def _context():
    from rest_framework.request import Request

    return {"request": Request(RequestFactory().get("/api/v1/x")), "view": None}


def test_django_validation_error_from_a_service_becomes_400_with_fields():
    response = exception_handler(DjangoValidationError({"email": ["Taken."], "__all__": ["Bad."]}), _context())
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "code": "invalid",
            "message": "The request has invalid fields.",
            "fields": {"email": ["Taken."], "non_field_errors": ["Bad."]},
        }
    }
    plain = exception_handler(DjangoValidationError("Nope."), _context())
    assert plain.data["error"]["fields"] == {"non_field_errors": ["Nope."]}


def test_unexpected_exception_becomes_500_in_the_api_shape_without_details():
    from django.core.signals import got_request_exception

    seen = []

    def receiver(sender, request, **kwargs):
        seen.append(request.path)

    got_request_exception.connect(receiver)
    try:
        response = exception_handler(RuntimeError("secret patient detail"), _context())
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert response.data["error"]["code"] == "server_error"
    assert "secret" not in str(response.data)
    assert seen == ["/api/v1/x"]  # reported like Django reports it (Sentry, the test client)


def test_parse_error_has_the_api_shape():
    from rest_framework.exceptions import ParseError

    response = exception_handler(ParseError("JSON parse error"), _context())
    assert response.status_code == 400
    assert response.data == {"error": {"code": "parse_error", "message": "JSON parse error", "fields": {}}}


def test_browsers_get_json_too_not_the_browsable_api(clinic_a, client_for):
    html_accept = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    assert_error(client_for(clinic_a).get("/api/v1/staff", **html_accept), 401, "not_authenticated")
    assert_error(client_for(clinic_a, "owner").get("/api/v1/staff", {"role": "x y"}, **html_accept), 400, "invalid")
    ok = client_for(clinic_a, "owner").get("/api/v1/me", **html_accept)
    assert ok.status_code == 200 and ok["Content-Type"] == "application/json"
