"""The public /verify/<code> page resists guessing: longer codes, and lookups limited per client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context

from clinics import verification
from clinics.models import DocumentVerification

PUBLIC_HOST = "testserver.local"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _register(seeded, code):
    with schema_context(get_public_schema_name()):
        DocumentVerification.objects.create(
            code=code, clinic=seeded.clinic, kind="certificate", issued_at=datetime.now(UTC), sha256="0" * 64
        )


def test_new_codes_have_eight_characters_of_the_unambiguous_alphabet(db):
    for kind, prefix in verification.PREFIXES.items():
        code = verification.new_code(kind)
        assert re.fullmatch(rf"{prefix}-[{verification.ALPHABET}]{{8}}", code), code
        assert verification.normalize_code(code.lower().replace("-", "")) == code


def test_codes_printed_before_keep_verifying(clinic_a):
    _register(clinic_a, "MC-7K2M9Q")
    client = Client(HTTP_HOST=PUBLIC_HOST)
    page = client.get("/verify/MC-7K2M9Q")
    assert page.status_code == 200 and "Medical certificate" in page.content.decode()
    assert client.get("/verify/mc7k2m9q")["Location"] == "/verify/MC-7K2M9Q"
    assert verification.normalize_code("MC-7K2M9QH") is None  # 7 characters: neither length


def test_code_lookups_are_limited_per_client_address(clinic_a, monkeypatch):
    monkeypatch.setattr(verification, "VIEW_LIMIT", 3)
    _register(clinic_a, "MC-7K2M9QH4")
    guesser = Client(HTTP_HOST=PUBLIC_HOST, REMOTE_ADDR="203.0.113.50")
    for guess in ("MC-22222222", "MC-33333333", "MC-44444444"):
        assert guesser.get(f"/verify/{guess}").status_code == 404
    limited = guesser.get("/verify/MC-7K2M9QH4")
    assert limited.status_code == 429 and "Too many checks" in limited.content.decode()
    assert limited["Retry-After"] == str(verification.VIEW_WINDOW_SECONDS)
    assert "MC-7K2M9QH4" not in limited.content.decode()
    assert Client(HTTP_HOST=PUBLIC_HOST, REMOTE_ADDR="203.0.113.51").get("/verify/MC-7K2M9QH4").status_code == 200


def test_behind_the_proxy_each_client_has_its_own_budget(clinic_a, monkeypatch, settings):
    settings.DOCOS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    monkeypatch.setattr(verification, "VIEW_LIMIT", 2)
    _register(clinic_a, "MC-7K2M9QH4")

    def via_proxy(address):
        return Client(HTTP_HOST=PUBLIC_HOST, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=address)

    guesser = via_proxy("198.51.100.70")
    for _ in range(2):
        guesser.get("/verify/MC-22222222")
    assert guesser.get("/verify/MC-7K2M9QH4").status_code == 429
    assert via_proxy("198.51.100.71").get("/verify/MC-7K2M9QH4").status_code == 200
