"""DocOS's public privacy pages and security.txt: reachable without signing in on the bare public
domain only (a clinic's host has none of them), and stating the retention periods the code applies
(read from the same settings as the retention rules, so the page cannot drift)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

PAGES = ["/privacy/", "/privacy/subprocessors/", "/privacy/deletion/", "/security/", "/.well-known/security.txt"]


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN)


@pytest.mark.parametrize("url", PAGES)
def test_public_pages_are_open_to_anyone_on_the_public_host(db, public_client, url):
    assert public_client.get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_a_clinic_host_does_not_serve_them(clinic_a, client_for, url):
    assert client_for(clinic_a).get(url).status_code in (302, 404)
    assert client_for(clinic_a, "owner").get(url).status_code == 404


def test_the_policy_states_the_codes_retention_periods(db, public_client, settings):
    settings.RETENTION_CLINICAL_YEARS = 12
    settings.RETENTION_BILLING_YEARS = 9
    settings.RETENTION_WHATSAPP_BODY_DAYS = 120
    settings.RETENTION_AUDIT_DAYS = 400
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 21
    page = public_client.get("/privacy/").content.decode()
    assert '<td data-label="Kept for" id="retention-clinical">12 years after the last visit' in page
    assert 'id="retention-billing">9 years' in page
    assert 'id="retention-whatsapp">120 days' in page
    assert 'id="retention-audit">400 days' in page
    assert 'id="retention-webhooks">21 days' in page
    assert "AES-256-GCM" in page and "Razorpay" in page and "PostgreSQL" in page
    deletion = public_client.get("/privacy/deletion/").content.decode()
    assert "12 years after the last visit" in deletion and "30 days" in deletion and "Crypto-shredding" in deletion


def test_the_default_periods_are_the_legal_minimums(db, public_client):
    page = public_client.get("/privacy/").content.decode()
    assert f'id="retention-clinical">{settings.RETENTION_CLINICAL_YEARS} years' in page
    assert f'id="retention-audit">{settings.RETENTION_AUDIT_DAYS} days' in page


def test_security_txt_follows_rfc_9116(db, public_client, settings):
    settings.DOCOS_SECURITY_EMAIL = "security@docos.example.in"
    response = public_client.get("/.well-known/security.txt")
    assert response["Content-Type"].startswith("text/plain")
    fields = dict(line.split(": ", 1) for line in response.content.decode().splitlines())
    assert fields["Contact"] == "mailto:security@docos.example.in"
    expires = dt.datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert dt.timedelta(days=1) < expires - dt.datetime.now(dt.UTC) < dt.timedelta(days=366)
    assert fields["Canonical"].endswith("/.well-known/security.txt") and fields["Policy"].endswith("/security/")
