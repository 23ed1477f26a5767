"""The owner's off-boarding page (/settings/offboarding/): owner only, re-authentication within five
minutes, typing the clinic's address, cancel, download for seven days (audited), and another
clinic never sees or downloads this one's export."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pyotp
import pytest
import time_machine
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditEvent
from clinics.models import ClinicOffboarding
from clinics.offboarding import offboarding_export
from tests.clinics.offboarding_helpers import remove_files
from tests.conftest import PASSWORD

PAGE = "/settings/offboarding/"
DOWNLOAD = "/settings/offboarding/export.zip"
START = dt.datetime(2026, 12, 9, 4, 30, tzinfo=dt.UTC)


@pytest.fixture
def pinned():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def no_archives():
    yield
    connection.set_schema_to_public()
    remove_files("offboarding")


def _reauth(client, password=PASSWORD, **extra):
    return client.post(PAGE, {"action": "reauth", "password": password, **extra})


def _open(clinic) -> ClinicOffboarding | None:
    connection.set_schema_to_public()
    return ClinicOffboarding.objects.filter(clinic=clinic.clinic, status__in=ClinicOffboarding.OPEN).first()


@pytest.mark.parametrize("role", ["administrator", "doctor", "nurse", "front_desk", "accounts", "no_role"])
def test_only_the_owner_may_open_the_page(clinic_a, client_for, role):
    if role not in clinic_a.users:
        pytest.skip(f"no {role} user seeded")
    client = client_for(clinic_a, role)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"action": "request", "confirm_address": "alpha"}).status_code == 403
    assert client.get(DOWNLOAD).status_code == 403
    assert _open(clinic_a) is None


def test_a_custom_role_with_the_capability_is_still_not_the_owner(clinic_a, client_for):
    with tenant_context(clinic_a.clinic):
        role = Role.objects.create(slug="closer", name="Closer", capabilities=["clinic.close"])
        user = User.objects.create_user("closer@alpha.example.in", PASSWORD, full_name="Vikram Rao", role=role)
    connection.set_schema_to_public()
    client = client_for(clinic_a).login_as(user)
    assert client.get(PAGE).status_code == 403


def test_the_owner_must_reauthenticate_before_anything(clinic_a, client_for, pinned):
    owner = client_for(clinic_a, "owner")
    page = owner.get(PAGE)
    assert page.status_code == 200 and b"Confirm it is you" in page.content
    assert b"authenticator" not in page.content  # the owner has no TOTP
    refused = owner.post(PAGE, {"action": "request", "confirm_address": "alpha"})
    assert refused.status_code == 403 and _open(clinic_a) is None
    assert _reauth(owner, "not-my-password-99").status_code == 400
    connection.set_schema_to_public()
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="accounts.reauth_failed").exists()
    assert _reauth(owner).status_code == 302
    page = owner.get(PAGE)
    assert page.status_code == 200 and b"Type the clinic&#x27;s address" in page.content
    # Five minutes later the page asks again.
    pinned.shift(dt.timedelta(minutes=5, seconds=5))
    assert b"Confirm it is you" in owner.get(PAGE).content


def test_five_wrong_passwords_end_the_session(clinic_a, client_for, pinned):
    owner = client_for(clinic_a, "owner")
    for _ in range(4):
        assert _reauth(owner, "not-my-password-99").status_code == 400
    last = _reauth(owner, "not-my-password-99")
    assert last.status_code == 302 and "/login" in last["Location"]
    assert owner.get(PAGE).status_code == 302  # signed out
    assert _open(clinic_a) is None


def test_an_owner_with_an_authenticator_enters_its_code_too(clinic_a, client_for, pinned):
    with tenant_context(clinic_a.clinic):
        owner_user = User.objects.get(pk=clinic_a.users["owner"].pk)
        owner_user.totp_secret = pyotp.random_base32()
        owner_user.totp_confirmed_at = START
        owner_user.save()
    connection.set_schema_to_public()
    owner = client_for(clinic_a).login_as(owner_user)
    assert b"authenticator" in owner.get(PAGE).content
    assert _reauth(owner, code="000000").status_code == 400
    assert _reauth(owner, code=pyotp.TOTP(owner_user.totp_secret).now()).status_code == 302
    assert b"Type the clinic&#x27;s address" in owner.get(PAGE).content


def test_the_owner_requests_after_typing_the_address_and_may_cancel(
    clinic_a, client_for, pinned, django_capture_on_commit_callbacks
):
    owner = client_for(clinic_a, "owner")
    _reauth(owner)
    wrong = owner.post(PAGE, {"action": "request", "confirm_address": "beta"})
    assert wrong.status_code == 400 and _open(clinic_a) is None
    with django_capture_on_commit_callbacks() as queued:
        assert owner.post(PAGE, {"action": "request", "confirm_address": "alpha"}).status_code == 302
    assert len(queued) == 1  # the export task
    offboarding = _open(clinic_a)
    assert offboarding is not None and offboarding.status == "exporting"
    assert offboarding.requested_by == "owner@alpha.example.in"
    assert offboarding.delete_after == offboarding.requested_at + dt.timedelta(days=30)
    page = owner.get(PAGE)
    assert b"Preparing the export" in page.content and b"Cancel closing the clinic" in page.content
    again = owner.post(PAGE, {"action": "request", "confirm_address": "alpha"})
    assert again.status_code == 400 and b"already being closed" in again.content
    assert owner.post(PAGE, {"action": "cancel"}).status_code == 302
    offboarding.refresh_from_db()
    assert offboarding.status == "cancelled" and _open(clinic_a) is None
    with tenant_context(clinic_a.clinic):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"clinic.offboarding_request", "clinic.offboarding_cancel"} <= actions


def test_the_owner_downloads_the_export_for_seven_days_only(clinic_a, clinic_b, client_for, pinned, no_archives):
    with tenant_context(clinic_a.clinic):
        doctor = User.objects.get(pk=clinic_a.users["doctor"].pk)
        doctor.totp_secret, doctor.totp_confirmed_at = pyotp.random_base32(), START
        doctor.save()
    connection.set_schema_to_public()
    owner = client_for(clinic_a, "owner")
    _reauth(owner)
    owner.post(PAGE, {"action": "request", "confirm_address": "alpha"})
    offboarding = _open(clinic_a)
    assert offboarding_export(offboarding_id=str(offboarding.pk)) == "ready"
    page = owner.get(PAGE)
    assert b"Download the export" in page.content and b"Export again" in page.content
    response = owner.get(DOWNLOAD)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "manifest.json" in archive.namelist() and "tables/patients_patient.json" in archive.namelist()
    # No sign-in sessions (the owner's own is live) and no authenticator secrets in the export.
    assert json.loads(archive.read("tables/django_session.json"))["rows"] == []
    users = json.loads(archive.read("tables/accounts_user.json"))
    secret = users["columns"].index("totp_secret")
    assert len(users["rows"]) >= 7 and all(row[secret] is None for row in users["rows"])
    assert doctor.totp_secret.encode() not in response.content
    connection.set_schema_to_public()
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="clinic.offboarding_download").count() == 1

    # Another clinic's owner sees nothing of it and downloads nothing.
    other = client_for(clinic_b, "owner")
    _reauth(other)
    assert b"Download the export" not in other.get(PAGE).content
    assert other.get(DOWNLOAD).status_code == 404
    assert other.post(PAGE, {"action": "cancel"}).status_code == 400  # B has nothing to cancel ...
    assert other.post(PAGE, {"action": "export_again"}).status_code == 400
    offboarding.refresh_from_db()
    assert offboarding.status == "ready"  # ... and A's is untouched

    # Without a fresh re-authentication the download sends the owner back to the page.
    pinned.shift(dt.timedelta(minutes=6))
    assert owner.get(DOWNLOAD).status_code == 302
    _reauth(owner)
    pinned.shift(dt.timedelta(days=7))
    owner = client_for(clinic_a, "owner")  # signed in again (the idle timeout ended the session)
    _reauth(owner)
    assert owner.get(DOWNLOAD).status_code == 404
    assert b"The export has expired" in owner.get(PAGE).content
