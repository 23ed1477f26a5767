"""Personal API tokens in the console: create (secret shown once, stored hashed), list, revoke; CLI."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from tests.accounts.console_helpers import audit_events

SECRET_RE = re.compile(r"docos_[A-Za-z0-9_\-]{43}")


def create(client, **data):
    return client.post("/settings/tokens/", {"name": "Lab import", **data})


def test_secret_is_shown_once_and_only_its_hash_is_stored(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "doctor")
    response = create(client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    (secret,) = set(SECRET_RE.findall(response.content.decode()))
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["doctor"])
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12]
    assert secret not in {token.name, token.prefix, token.token_hash}
    listing = client.get("/settings/tokens/").content.decode()
    assert "Lab import" in listing and token.prefix in listing
    assert secret not in listing
    (event,) = audit_events(clinic_a, "api_token.create")
    assert secret not in str(event.metadata)


def test_created_token_authenticates_the_api_until_revoked(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "front_desk")
    (secret,) = set(SECRET_RE.findall(create(client).content.decode()))
    api = client_for(clinic_a)
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert me.status_code == 200
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["front_desk"])
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    with in_tenant(clinic_a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert len(audit_events(clinic_a, "api_token.revoke")) == 1


def test_users_cannot_revoke_each_others_tokens_from_their_own_page(clinic_a, client_for, in_tenant):
    create(client_for(clinic_a, "doctor"))
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["doctor"])
    assert client_for(clinic_a, "nurse").post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert client_for(clinic_a, "owner").post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    with in_tenant(clinic_a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_staff_manager_revokes_a_colleagues_token_from_the_staff_page(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    create(client_for(clinic_a, "doctor"))
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=doctor)
    admin = client_for(clinic_a, "administrator")
    assert "Lab import" in admin.get(f"/settings/staff/{doctor.pk}/").content.decode()
    assert admin.post(f"/settings/staff/{doctor.pk}/tokens/{token.pk}/revoke/").status_code == 302
    with in_tenant(clinic_a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    # The token must belong to the staff member in the URL.
    nurse = clinic_a.users["nurse"]
    assert admin.post(f"/settings/staff/{nurse.pk}/tokens/{token.pk}/revoke/").status_code == 404


def test_expiry_must_be_after_today_and_is_stored(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "nurse")
    past = create(client, expires_on="2020-01-01")
    assert "Choose a date after today." in past.content.decode()
    assert not SECRET_RE.search(past.content.decode())
    response = create(client, expires_on="2099-12-31")
    assert SECRET_RE.search(response.content.decode())
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["nurse"])
    assert token.expires_at is not None and token.expires_at.year == 2099


def test_name_is_required(clinic_a, client_for):
    response = client_for(clinic_a, "nurse").post("/settings/tokens/", {"name": ""})
    assert "This field is required." in response.content.decode()


def test_empty_state_when_no_tokens(clinic_a, client_for):
    assert "You have no API tokens." in client_for(clinic_a, "pharmacist").get("/settings/tokens/").content.decode()


def test_command_prints_a_working_token(clinic_a, client_for, in_tenant):
    out = StringIO()
    call_command("api_token_create", clinic="alpha", email="DOCTOR@alpha.example.in", name="CI", stdout=out)
    secret = out.getvalue().strip()
    assert SECRET_RE.fullmatch(secret)
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["doctor"], name="CI")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert client_for(clinic_a).get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    assert audit_events(clinic_a, "api_token.create")[0].metadata["source"] == "manage.py api_token_create"


def test_command_reports_unknown_clinic_or_email(clinic_a):
    with pytest.raises(CommandError, match="No clinic"):
        call_command("api_token_create", clinic="nowhere", email="x@example.in", stdout=StringIO())
    with pytest.raises(CommandError, match="No staff member"):
        call_command("api_token_create", clinic="alpha", email="ghost@example.in", stdout=StringIO())
