"""API tokens obey the clinic's "two-factor required for administrators" rule, like sessions do."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import User
from clinics.models import Clinic
from tests.accounts.api_helpers import assert_error, bearer, make_token
from tests.accounts.console_helpers import make_role, make_user
from tests.accounts.login_helpers import password_login
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")

ADMIN_READS = ("/api/v1/staff", "/api/v1/patients", "/api/v1/me")


def require_2fa(seeded) -> None:
    Clinic.objects.filter(pk=seeded.clinic.pk).update(require_2fa_for_admins=True)


def confirm_totp(seeded, user, in_tenant) -> None:
    with in_tenant(seeded):
        User.objects.filter(pk=user.pk).update(totp_confirmed_at=timezone.now())  # what totp_enabled reads


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_administrator_token_without_2fa_is_refused_like_their_session(clinic_a, client_for, role):
    user = clinic_a.users[role]
    secret = make_token(clinic_a, user)
    require_2fa(clinic_a)
    client = client_for(clinic_a)
    for url in ADMIN_READS:
        error = assert_error(client.get(url, **bearer(secret)), 403, "two_factor_setup_required")
        assert "two-factor authentication" in error["message"]
    # Writes are refused the same way (before any input is looked at).
    assert_error(client.post("/api/v1/patients", {}, **bearer(secret)), 403, "two_factor_setup_required")
    # The session of the same user is held at the 2FA setup page, and answers the API the same.
    session = client_for(clinic_a)
    password_login(session, user.email, PASSWORD)
    assert session.get("/")["Location"] == "/account/two-factor"
    assert_error(session.get("/api/v1/staff"), 403, "two_factor_setup_required")


def test_administrator_token_works_once_2fa_is_set_up(clinic_a, client_for, in_tenant):
    administrator = clinic_a.users["administrator"]
    secret = make_token(clinic_a, administrator)
    require_2fa(clinic_a)
    confirm_totp(clinic_a, administrator, in_tenant)
    client = client_for(clinic_a)
    for url in ADMIN_READS:
        assert client.get(url, **bearer(secret)).status_code == 200, url


def test_administrator_token_works_when_the_clinic_does_not_require_2fa(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["administrator"])
    client = client_for(clinic_a)
    for url in ADMIN_READS:
        assert client.get(url, **bearer(secret)).status_code == 200, url


def test_rule_follows_administrative_capabilities_not_role_names(clinic_a, client_for):
    make_role(clinic_a, "Auditor", ["patients.view", "audit.view"])
    auditor = make_user(clinic_a, "auditor@alpha.example.in", "auditor")
    secret = make_token(clinic_a, auditor)
    require_2fa(clinic_a)
    assert_error(client_for(clinic_a).get("/api/v1/patients", **bearer(secret)), 403, "two_factor_setup_required")


def test_staff_without_administrative_access_keep_using_tokens(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["doctor"])
    require_2fa(clinic_a)
    response = client_for(clinic_a).get("/api/v1/patients", **bearer(secret))
    assert response.status_code == 200


def test_invalid_token_still_answers_401_when_2fa_is_required(clinic_a, client_for):
    require_2fa(clinic_a)
    secret = make_token(clinic_a, clinic_a.users["owner"], revoked_at=timezone.now())
    assert_error(client_for(clinic_a).get("/api/v1/staff", **bearer(secret)), 401, "invalid_token")
