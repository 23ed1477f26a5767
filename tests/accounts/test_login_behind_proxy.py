"""Behind the TLS proxy, sign-in limits and the audit log use the client's address, not the proxy's."""

from __future__ import annotations

import pytest

from tests.accounts.login_helpers import audit_actions, password_login
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

PROXY = "10.0.0.2"
WRONG = "wrong-password-0000"


@pytest.fixture
def behind_proxy(settings):
    settings.DOCOS_TRUSTED_PROXIES = ["10.0.0.0/8"]


def via_proxy(client_for, seeded, client_address):
    return client_for(seeded, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)


def test_failures_from_one_client_do_not_block_others_behind_the_same_proxy(
    clinic_a, client_for, settings, behind_proxy
):
    settings.DOCOS_IP_FAILURE_LIMIT = 4
    attacker = via_proxy(client_for, clinic_a, "198.51.100.66")
    for role in ("doctor", "nurse", "pharmacist", "front_desk"):
        password_login(attacker, clinic_a.users[role].email, WRONG)
    blocked = password_login(attacker, clinic_a.users["owner"].email, PASSWORD)
    assert blocked.status_code == 400 and b"from your network" in blocked.content
    colleague = via_proxy(client_for, clinic_a, "203.0.113.20")
    assert password_login(colleague, clinic_a.users["owner"].email, PASSWORD)["Location"] == "/"


def test_a_client_cannot_dodge_the_limit_by_forging_the_header(clinic_a, client_for, settings, behind_proxy):
    settings.DOCOS_IP_FAILURE_LIMIT = 4
    for n, role in enumerate(("doctor", "nurse", "pharmacist", "front_desk")):
        # Straight to the app (not through the proxy), a new forged X-Forwarded-For each time.
        forger = client_for(clinic_a, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        password_login(forger, clinic_a.users[role].email, WRONG)
    forger = client_for(clinic_a, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert b"from your network" in password_login(forger, clinic_a.users["owner"].email, PASSWORD).content


def test_the_address_limit_is_kept_per_clinic_under_a_global_ceiling(clinic_a, clinic_b, client_for, settings):
    settings.DOCOS_IP_FAILURE_LIMIT = 2
    settings.DOCOS_IP_FAILURE_LIMIT_GLOBAL = 3
    for role in ("doctor", "nurse"):
        password_login(client_for(clinic_a), clinic_a.users[role].email, WRONG)
    assert b"from your network" in password_login(client_for(clinic_a), clinic_a.users["owner"].email, PASSWORD).content
    # The same address may still sign in at another clinic ...
    assert password_login(client_for(clinic_b), clinic_b.users["owner"].email, PASSWORD)["Location"] == "/"
    # ... until it reaches the ceiling across clinics.
    password_login(client_for(clinic_b), clinic_b.users["doctor"].email, WRONG)
    assert b"from your network" in password_login(client_for(clinic_b), clinic_b.users["owner"].email, PASSWORD).content


def test_audit_events_record_the_client_address(clinic_a, client_for, behind_proxy):
    nurse = clinic_a.users["nurse"]
    password_login(via_proxy(client_for, clinic_a, "6.6.6.6, 198.51.100.7"), nurse.email, WRONG)
    [event] = audit_actions(clinic_a, action="auth.login_failed", object_id=str(nurse.pk))
    assert event.ip == "198.51.100.7"


def test_an_ipv6_client_cannot_dodge_the_limit_with_a_fresh_address_of_its_network(
    clinic_a, client_for, settings, behind_proxy
):
    settings.DOCOS_IP_FAILURE_LIMIT = 4
    for n, role in enumerate(("doctor", "nurse", "pharmacist", "front_desk"), start=1):
        password_login(via_proxy(client_for, clinic_a, f"2001:db8:5:7::{n:x}"), clinic_a.users[role].email, WRONG)
    same_network = via_proxy(client_for, clinic_a, "2001:db8:5:7:ffff::99")
    assert b"from your network" in password_login(same_network, clinic_a.users["owner"].email, PASSWORD).content
    other_network = via_proxy(client_for, clinic_a, "2001:db8:5:8::1")
    assert password_login(other_network, clinic_a.users["owner"].email, PASSWORD)["Location"] == "/"
