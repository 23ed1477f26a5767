"""Security headers on clinic pages, and HSTS/HTTPS redirect with the production values."""

from __future__ import annotations

import importlib
import sys

import pytest
from django.test import override_settings

from docos.crypto import generate_key_spec


def _assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy


def test_signed_in_clinic_page_sends_security_headers(clinic_a, client_for):
    response = client_for(clinic_a, "doctor").get("/")
    assert response.status_code == 200
    _assert_security_headers(response)


def test_sign_in_page_sends_security_headers(clinic_a, client_for):
    response = client_for(clinic_a).get("/login")
    assert response.status_code == 200
    _assert_security_headers(response)


@pytest.fixture
def prod_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DOCOS_ENCRYPTION_KEYS", generate_key_spec("p1"))
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    module = sys.modules.get("docos.settings.prod")
    return importlib.reload(module) if module else importlib.import_module("docos.settings.prod")


def test_production_sends_hsts_over_https_and_redirects_plain_http(clinic_a, client_for, prod_settings):
    https_only = {
        name: getattr(prod_settings, name)
        for name in (
            "SECURE_PROXY_SSL_HEADER",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
        )
    }
    with override_settings(**https_only):
        client = client_for(clinic_a, "doctor")
        secure = client.get("/", HTTP_X_FORWARDED_PROTO="https")
        assert secure.status_code == 200
        assert secure.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"
        _assert_security_headers(secure)

        plain = client.get("/")
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://{clinic_a.host}/"


def test_production_cookies_are_secure_and_host_only(prod_settings):
    assert prod_settings.SESSION_COOKIE_SECURE and prod_settings.CSRF_COOKIE_SECURE
    assert prod_settings.SESSION_COOKIE_NAME.startswith("__Host-")
    assert not getattr(prod_settings, "SESSION_COOKIE_DOMAIN", None)
    assert prod_settings.DEBUG is False
