"""The client's address behind trusted proxies (docos.middleware.ClientIPMiddleware) and its check."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.checks import run_checks
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from audit.context import client_ip
from docos.middleware import ClientIPMiddleware, forwarded_client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # The proxy appends the address it saw; that right-most entry is the client.
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        # Whatever the client wrote itself sits further left and is ignored.
        ("10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        # A chain of trusted proxies is skipped from the right.
        ("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.9.9.9", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7:51234", "198.51.100.7"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8:ffff::1", "2001:db8::7", "2001:db8::7"),
        # Garbage stops the walk: the last address a trusted hop vouched for is kept.
        ("10.0.0.2", "198.51.100.7, not-an-ip, 10.9.9.9", "10.9.9.9"),
        ("10.0.0.2", "", None),
        # Only trusted entries: the left-most is the best we know.
        ("10.0.0.2", "10.1.1.1, 10.2.2.2", "10.1.1.1"),
        # Not from a trusted proxy: the header is the client's own claim and is ignored.
        ("203.0.113.5", "198.51.100.7", None),
        ("garbage", "198.51.100.7", None),
    ],
)
def test_right_most_untrusted_forwarded_address_is_the_client(remote, forwarded, expected):
    assert forwarded_client_ip(remote, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_header_is_never_read():
    assert forwarded_client_ip("10.0.0.2", "198.51.100.7", ()) is None


def _through_middleware(**meta: str) -> HttpRequest:
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse()

    ClientIPMiddleware(view)(RequestFactory().get("/", **meta))
    return seen[0]


def test_middleware_sets_remote_addr_only_for_trusted_proxies():
    with override_settings(DOCOS_TRUSTED_PROXIES=["10.0.0.0/8"]):
        proxied = _through_middleware(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
        assert client_ip(proxied) == "198.51.100.7"
        assert proxied.META["DOCOS_PROXY_ADDR"] == "10.0.0.2"
        direct = _through_middleware(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.7")
        assert client_ip(direct) == "203.0.113.5"
    with override_settings(DOCOS_TRUSTED_PROXIES=[]):
        assert client_ip(_through_middleware(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")) == "10.0.0.2"


def test_the_middleware_runs_first():
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "docos.middleware.ClientIPMiddleware"


def _check_ids() -> list[str]:
    return sorted(m.id for m in run_checks() if m.id in {"docos.W001", "docos.E004"})


def test_production_without_trusted_proxies_gets_a_warning():
    with override_settings(DOCOS_PRODUCTION=True, DOCOS_TRUSTED_PROXIES=[]):
        assert _check_ids() == ["docos.W001"]
    with override_settings(DOCOS_PRODUCTION=True, DOCOS_TRUSTED_PROXIES=["10.0.0.0/8", "192.0.2.10"]):
        assert _check_ids() == []
    with override_settings(DOCOS_PRODUCTION=False, DOCOS_TRUSTED_PROXIES=[]):
        assert _check_ids() == []


def test_malformed_trusted_proxies_are_an_error():
    with override_settings(DOCOS_TRUSTED_PROXIES=["10.0.0.0/8", "proxy.internal"]):
        assert _check_ids() == ["docos.E004"]
