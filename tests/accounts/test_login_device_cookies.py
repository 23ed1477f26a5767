"""Device cookies (OWASP): failures from an address, or against an email, do not lock staff out of
the browsers they signed in on before; such a browser has its own, separate limit."""

from __future__ import annotations

import importlib
import sys

import pytest
from django.core import signing

from accounts import login as auth
from accounts.models import User
from docos.crypto import generate_key_spec
from tests.accounts.login_helpers import audit_actions, password_login, signed_in_user_id, start
from tests.accounts.test_totp import enrol, other_step
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

WRONG = "wrong-password-0000"
COOKIE = "docos_device"


def known_device(seeded, client_for, role: str, **client_kwargs):
    """A browser where `role` signed in before (and signed out again): it holds their device cookie."""
    client = client_for(seeded, **client_kwargs)
    assert password_login(client, seeded.users[role].email, PASSWORD)["Location"] == "/"
    assert COOKIE in client.cookies
    client.post("/logout")
    assert signed_in_user_id(client, seeded) is None
    return client


def fail(client, email: str, times: int = 1):
    start(client, email)
    return [client.post("/login/verify", {"password": WRONG}) for _ in range(times)][-1]


def locked_until(seeded, user, in_tenant):
    with in_tenant(seeded):
        return User.objects.get(pk=user.pk).locked_until


# --- the cookie --------------------------------------------------------------------------------------


def test_a_completed_sign_in_sets_a_signed_long_lived_http_only_cookie(clinic_a, client_for):
    client = client_for(clinic_a)
    password_login(client, clinic_a.users["doctor"].email, PASSWORD)
    morsel = client.cookies[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == 365 * 24 * 60 * 60
    assert not morsel["domain"]  # host-only: one clinic's host
    value = signing.Signer(salt=auth.DEVICE_SALT, algorithm="sha256").unsign(morsel.value)
    user_hash, nonce = value.split(".")
    assert str(clinic_a.users["doctor"].pk).replace("-", "") not in morsel.value  # names the user by a hash
    assert len(user_hash) == 24 and len(nonce) == 32


def test_a_failed_sign_in_sets_no_cookie(clinic_a, client_for):
    client = client_for(clinic_a)
    fail(client, clinic_a.users["doctor"].email)
    assert COOKIE not in client.cookies


def test_in_production_the_cookie_is_secure_and_host_only(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DOCOS_ENCRYPTION_KEYS", generate_key_spec("p1"))
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    module = sys.modules.get("docos.settings.prod")
    prod = importlib.reload(module) if module else importlib.import_module("docos.settings.prod")
    assert prod.DOCOS_DEVICE_COOKIE_SECURE is True
    assert prod.DOCOS_DEVICE_COOKIE_NAME.startswith("__Host-")


def test_a_secure_cookie_when_configured(clinic_a, client_for, settings):
    settings.DOCOS_DEVICE_COOKIE_SECURE = True
    settings.DOCOS_DEVICE_COOKIE_NAME = "__Host-docos_device"
    client = client_for(clinic_a)
    password_login(client, clinic_a.users["doctor"].email, PASSWORD)
    assert client.cookies["__Host-docos_device"]["secure"]


# --- denial of service from an address -----------------------------------------------------------------


def test_fifty_failures_from_an_address_do_not_lock_out_staff_on_their_known_devices(clinic_a, client_for):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    attacker = client_for(clinic_a)  # same address (the test client's 127.0.0.1)
    for i in range(50):
        fail(attacker, f"guess{i}@alpha.example.in")
    # The address is blocked for untrusted clients, even with the right password ...
    blocked = password_login(client_for(clinic_a), doctor.email, PASSWORD)
    assert blocked.status_code == 400 and b"from your network" in blocked.content
    # ... but not for the doctor's own browser.
    assert password_login(device, doctor.email, PASSWORD)["Location"] == "/"
    assert signed_in_user_id(device, clinic_a) == str(doctor.pk)


def test_a_known_device_can_still_ask_for_a_sign_in_code_from_a_blocked_address(clinic_a, client_for, smtp):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    attacker = client_for(clinic_a)
    for i in range(50):
        fail(attacker, f"guess{i}@alpha.example.in")
    start(device, doctor.email)
    assert device.post("/login/code/send", {"purpose": "login"})["Location"] == "/login/code"
    assert device.post("/login/code", {"code": smtp.last_code(doctor.email)})["Location"] == "/"


# --- an attacker who knows the email ---------------------------------------------------------------------


def test_an_attacker_who_knows_the_email_cannot_lock_the_owner_out_of_a_known_device(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    attacker = client_for(clinic_a, REMOTE_ADDR="203.0.113.7")
    assert b"Too many failed attempts" in fail(attacker, doctor.email, 10).content
    until = locked_until(clinic_a, doctor, in_tenant)
    assert until is not None
    # Untrusted clients stay locked out (the attacker too, with the right password) ...
    assert b"Too many failed attempts" in password_login(client_for(clinic_a), doctor.email, PASSWORD).content
    # ... the doctor signs in on their own browser, and that does not lift the attacker's lock.
    assert password_login(device, doctor.email, PASSWORD)["Location"] == "/"
    assert locked_until(clinic_a, doctor, in_tenant) == until
    assert b"Too many failed attempts" in password_login(attacker, doctor.email, PASSWORD).content


def test_a_known_device_with_totp_signs_in_while_the_account_is_locked(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    totp = enrol(client_for(clinic_a, "doctor"))
    device = client_for(clinic_a)
    assert password_login(device, doctor.email, PASSWORD)["Location"] == "/login/two-factor"
    assert device.post("/login/two-factor", {"code": other_step(totp, 1)})["Location"] == "/"
    device.post("/logout")
    fail(client_for(clinic_a), doctor.email, 10)
    assert locked_until(clinic_a, doctor, in_tenant) is not None
    assert password_login(device, doctor.email, PASSWORD)["Location"] == "/login/two-factor"
    assert device.post("/login/two-factor", {"code": other_step(totp, -1)})["Location"] == "/"


def test_a_cookie_is_only_trusted_for_the_user_it_names(clinic_a, client_for):
    nurse = clinic_a.users["nurse"]
    device = known_device(clinic_a, client_for, "doctor")
    fail(client_for(clinic_a), nurse.email, 10)
    assert b"Too many failed attempts" in password_login(device, nurse.email, PASSWORD).content


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        # A well-formed entry with a forged signature.
        f"{'a' * 24}.{'b' * 32}:forgedsignature",
    ],
)
def test_a_forged_or_tampered_cookie_is_not_trusted(clinic_a, client_for, value):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    fail(client_for(clinic_a), doctor.email, 10)
    device.cookies[COOKIE] = value
    assert b"Too many failed attempts" in password_login(device, doctor.email, PASSWORD).content
    # A cookie signed for this user but with its value changed is refused too.
    genuine = known_device(clinic_a, client_for, "nurse").cookies[COOKIE].value
    device.cookies[COOKIE] = genuine.replace(genuine.split(".")[0], "0" * 24)
    assert b"Too many failed attempts" in password_login(device, doctor.email, PASSWORD).content


# --- the device's own limit -------------------------------------------------------------------------------


def test_a_device_locks_after_its_own_failures_and_only_itself(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    ninth = fail(device, doctor.email, 9)
    assert b"do not match" in ninth.content
    tenth = device.post("/login/verify", {"password": WRONG})
    assert b"Too many failed attempts" in tenth.content and b"Email me an unlock code" in tenth.content
    # That browser is locked, even with the right password ...
    assert b"Too many failed attempts" in password_login(device, doctor.email, PASSWORD).content
    # ... the account is not: its failures were the device's, not an untrusted client's.
    assert locked_until(clinic_a, doctor, in_tenant) is None
    assert password_login(client_for(clinic_a), doctor.email, PASSWORD)["Location"] == "/"
    [lockout] = audit_actions(clinic_a, action="auth.device_lockout", object_id=str(doctor.pk))
    assert lockout.metadata["failures"] == 10
    failures = audit_actions(clinic_a, action="auth.login_failed", object_id=str(doctor.pk))
    assert len(failures) == 10 and all(event.metadata.get("trusted_device") for event in failures)
    assert not audit_actions(clinic_a, action="auth.lockout", object_id=str(doctor.pk))


def test_device_failures_do_not_count_towards_the_address(clinic_a, client_for, settings):
    settings.DOCOS_IP_FAILURE_LIMIT = 4
    device = known_device(clinic_a, client_for, "doctor")
    fail(device, clinic_a.users["doctor"].email, 5)
    assert password_login(client_for(clinic_a), clinic_a.users["owner"].email, PASSWORD)["Location"] == "/"


def test_a_locked_device_unlocks_with_an_emailed_code(clinic_a, client_for, smtp, in_tenant):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    fail(device, doctor.email, 10)
    assert device.post("/login/code/send", {"purpose": "unlock"})["Location"] == "/login/unlock"
    response = device.post("/login/unlock", {"code": smtp.last_code(doctor.email)})
    assert response["Location"] == "/login/verify"
    assert device.post("/login/verify", {"password": PASSWORD})["Location"] == "/"
    [unlock] = audit_actions(clinic_a, action="auth.unlock", object_id=str(doctor.pk))
    assert unlock.metadata == {"scope": "device"}


def test_a_device_unlock_leaves_the_accounts_lock_in_place(clinic_a, client_for, smtp, in_tenant):
    doctor = clinic_a.users["doctor"]
    device = known_device(clinic_a, client_for, "doctor")
    fail(client_for(clinic_a, REMOTE_ADDR="203.0.113.7"), doctor.email, 10)
    fail(device, doctor.email, 10)
    device.post("/login/code/send", {"purpose": "unlock"})
    device.post("/login/unlock", {"code": smtp.last_code(doctor.email)})
    assert locked_until(clinic_a, doctor, in_tenant) is not None
    assert device.post("/login/verify", {"password": PASSWORD})["Location"] == "/"


# --- a shared PC ------------------------------------------------------------------------------------------


def test_a_shared_pc_is_a_known_device_of_each_user_who_signed_in_there(clinic_a, client_for):
    pc = known_device(clinic_a, client_for, "doctor")
    assert password_login(pc, clinic_a.users["nurse"].email, PASSWORD)["Location"] == "/"
    pc.post("/logout")
    attacker = client_for(clinic_a)
    for i in range(50):
        fail(attacker, f"guess{i}@alpha.example.in")
    for role in ("doctor", "nurse"):
        assert password_login(pc, clinic_a.users[role].email, PASSWORD)["Location"] == "/", role
        pc.post("/logout")
    # Someone who never signed in there is an untrusted client of a blocked address.
    assert b"from your network" in password_login(pc, clinic_a.users["owner"].email, PASSWORD).content


def test_the_cookie_remembers_a_bounded_number_of_users(clinic_a, client_for, settings):
    settings.DOCOS_DEVICE_COOKIE_MAX_ACCOUNTS = 2
    pc = client_for(clinic_a)
    for role in ("doctor", "nurse", "pharmacist"):
        assert password_login(pc, clinic_a.users[role].email, PASSWORD)["Location"] == "/"
        pc.post("/logout")
    value = signing.Signer(salt=auth.DEVICE_SALT, algorithm="sha256").unsign(pc.cookies[COOKIE].value)
    assert len(value.split("-")) == 2
    fail(client_for(clinic_a), clinic_a.users["doctor"].email, 10)  # the oldest entry was dropped
    assert b"Too many failed attempts" in password_login(pc, clinic_a.users["doctor"].email, PASSWORD).content
