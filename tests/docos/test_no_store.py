"""Responses of a clinic host to signed-in staff carry `Cache-Control: no-store` (they may show patient data)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from docos.middleware import NoStoreMiddleware
from tests.accounts.api_helpers import bearer, make_token
from tests.patients.registry_helpers import register


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store", response.headers
    assert response["Pragma"] == "no-cache"


def test_patient_page_is_not_stored(clinic_a, client_for):
    patient = register(clinic_a)
    client = client_for(clinic_a, "doctor")
    for url in (f"/patients/{patient.pk}/", "/patients/", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_store(response)


def test_api_answers_to_tokens_and_sessions_are_not_stored(clinic_a, client_for):
    patient = register(clinic_a)
    token = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    for client, extra in ((client_for(clinic_a), token), (client_for(clinic_a, "doctor"), {})):
        for url in ("/api/v1/patients", f"/api/v1/patients/{patient.pk}", "/api/v1/me"):
            response = client.get(url, **extra)
            assert response.status_code == 200, url
            assert_no_store(response)
        # Errors to a signed-in caller too (they may echo input).
        assert_no_store(client.get("/api/v1/patients/00000000-0000-4000-8000-000000000000", **extra))


def test_a_view_that_chose_its_own_cache_control_keeps_it(clinic_a, client_for):
    response = client_for(clinic_a, "doctor").get("/account/")
    assert response.status_code == 200
    # never_cache's header, not ours.
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_anonymous_answers_are_left_alone(clinic_a, client_for):
    response = client_for(clinic_a).get("/api/v1/patients")
    assert response.status_code == 401
    assert "Cache-Control" not in response and "Pragma" not in response


def test_public_site_is_left_alone(client, db):
    with override_settings(SHOW_PUBLIC_IF_NO_TENANT_FOUND=True):
        response = client.get("/", HTTP_HOST=settings.DOCOS_BASE_DOMAIN)
    assert response.status_code == 200
    assert "Cache-Control" not in response and "Pragma" not in response


def _through_middleware(path: str, *, schema: str, authenticated: bool, response: HttpResponse) -> HttpResponse:
    request = RequestFactory().get(path)
    request.tenant = SimpleNamespace(schema_name=schema)  # type: ignore[attr-defined]
    request.user = SimpleNamespace(is_authenticated=authenticated)  # type: ignore[assignment]
    return NoStoreMiddleware(lambda _request: response)(request)


@pytest.mark.parametrize(
    ("path", "schema", "authenticated", "expected"),
    [
        ("/patients/", "alpha", True, "no-store"),
        ("/static/css/docos.css", "alpha", True, None),
        ("/patients/", "public", True, None),
        ("/patients/", "alpha", False, None),
    ],
)
def test_the_rule(path, schema, authenticated, expected):
    response = _through_middleware(path, schema=schema, authenticated=authenticated, response=HttpResponse("x"))
    assert response.get("Cache-Control") == expected


def test_a_view_header_wins():
    chosen = HttpResponse("logo")
    chosen["Cache-Control"] = "private, max-age=300"
    response = _through_middleware("/settings/logo", schema="alpha", authenticated=True, response=chosen)
    assert response["Cache-Control"] == "private, max-age=300" and "Pragma" not in response
