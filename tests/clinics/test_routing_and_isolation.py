"""Host routing: clinic sub-domains, the public base domain, unknown hosts; sessions stay in their clinic."""

from __future__ import annotations

import socket

from django.conf import settings
from django.test import Client, override_settings


def test_session_cookie_of_one_clinic_is_not_a_session_in_another(clinic_a, clinic_b, client_for):
    alpha = client_for(clinic_a, "owner")
    assert alpha.get("/").status_code == 200
    cookie = alpha.cookies[settings.SESSION_COOKIE_NAME].value

    beta = Client(HTTP_HOST=clinic_b.host)
    beta.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = beta.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login")
    assert beta.get("/api/v1/me").status_code in (401, 403)
    assert b"Alpha" not in beta.get("/login").content
    assert alpha.get("/").status_code == 200  # the cookie itself was valid -- in its own clinic


def test_unknown_clinic_host_is_not_found(db):
    for host in ("nowhere.testserver.local", "alpha.testserver.local.evil.example", "testserver"):
        assert Client(HTTP_HOST=host).get("/").status_code == 404, host


def test_bare_base_domain_serves_the_public_site(clinic_a):
    response = Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN).get("/")
    assert response.status_code == 200
    assert b"practice management" in response.content or b"DocOS" in response.content
    assert b"Alpha Clinic" not in response.content
    # The public site has no clinic login page.
    assert Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN).get("/login").status_code == 404


def test_base_domain_host_is_matched_case_insensitively_with_port(clinic_a):
    assert Client(HTTP_HOST="TestServer.Local:8000").get("/").status_code == 200
    assert Client(HTTP_HOST="ALPHA.testserver.local:8000").get("/login").status_code == 200


def test_healthz_answers_on_every_host(clinic_a):
    for host in (settings.DOCOS_BASE_DOMAIN, clinic_a.host, "nowhere.testserver.local"):
        response = Client(HTTP_HOST=host).get("/healthz")
        assert response.status_code == 200 and response.json() == {"status": "ok"}, host


def test_readyz_on_the_public_domain_checks_postgres_and_redis(db):
    response = Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": True, "redis": True}}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readyz_is_503_when_redis_is_unreachable(db):
    caches = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}}
    with override_settings(CACHES=caches):
        response = Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN).get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"postgres": True, "redis": False}}
    # And back to ready once Redis is reachable again.
    assert Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN).get("/readyz").status_code == 200
