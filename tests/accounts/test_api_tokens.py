from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiToken, User
from tests.accounts.api_helpers import assert_error, bearer, make_token


def test_token_of_clinic_a_is_unknown_on_clinic_b_host(clinic_a, clinic_b, client_for):
    secret = make_token(clinic_a, clinic_a.users["owner"])
    assert client_for(clinic_a).get("/api/v1/me", **bearer(secret)).status_code == 200
    response = client_for(clinic_b).get("/api/v1/me", **bearer(secret))
    assert_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_revoked_token_is_rejected(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["owner"], revoked_at=timezone.now())
    assert_error(client_for(clinic_a).get("/api/v1/me", **bearer(secret)), 401, "invalid_token")


def test_token_revoked_after_use_stops_working(clinic_a, client_for, in_tenant):
    secret = make_token(clinic_a, clinic_a.users["owner"])
    client = client_for(clinic_a)
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    with in_tenant(clinic_a):
        ApiToken.objects.filter(user=clinic_a.users["owner"]).update(revoked_at=timezone.now())
    assert_error(client.get("/api/v1/me", **bearer(secret)), 401, "invalid_token")


def test_expired_token_is_rejected_and_unexpired_one_works(clinic_a, client_for):
    expired = make_token(clinic_a, clinic_a.users["owner"], expires_at=timezone.now() - timedelta(seconds=1))
    valid = make_token(clinic_a, clinic_a.users["owner"], expires_at=timezone.now() + timedelta(days=1))
    client = client_for(clinic_a)
    assert_error(client.get("/api/v1/me", **bearer(expired)), 401, "invalid_token")
    assert client.get("/api/v1/me", **bearer(valid)).status_code == 200


def test_token_of_deactivated_user_is_rejected(clinic_a, client_for, in_tenant):
    owner = clinic_a.users["owner"]
    secret = make_token(clinic_a, owner)
    with in_tenant(clinic_a):
        User.objects.filter(pk=owner.pk).update(is_active=False)
    assert_error(client_for(clinic_a).get("/api/v1/me", **bearer(secret)), 401, "invalid_token")


def test_unknown_or_malformed_tokens_are_rejected(clinic_a, client_for):
    client = client_for(clinic_a)
    secret = make_token(clinic_a, clinic_a.users["owner"])
    assert_error(client.get("/api/v1/me", **bearer(secret + "x")), 401, "invalid_token")
    assert_error(client.get("/api/v1/me", **bearer("not-a-docos-token")), 401, "invalid_token")
    assert_error(client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer"), 401, "invalid_token")
    # Another scheme is not ours: the request is simply unauthenticated.
    assert_error(client.get("/api/v1/me", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz"), 401, "not_authenticated")


def test_only_the_token_hash_is_stored_and_use_is_recorded(clinic_a, client_for, in_tenant):
    secret = make_token(clinic_a, clinic_a.users["owner"])
    client_for(clinic_a).get("/api/v1/me", **bearer(secret))
    with in_tenant(clinic_a):
        token = ApiToken.objects.get(user=clinic_a.users["owner"])
        assert secret not in token.token_hash
        assert len(token.token_hash) == 64
        assert token.last_used_at is not None


def test_token_without_capability_gets_403(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["nurse"])
    assert_error(client_for(clinic_a).get("/api/v1/staff", **bearer(secret)), 403, "permission_denied")


def test_session_auth_enforces_csrf_on_unsafe_methods_but_token_auth_does_not(clinic_a, client_for):
    session = client_for(clinic_a, "owner", enforce_csrf_checks=True)
    error = assert_error(session.post("/api/v1/me"), 403, "permission_denied")
    assert "CSRF" in error["message"]
    secret = make_token(clinic_a, clinic_a.users["owner"])
    tokened = client_for(clinic_a, enforce_csrf_checks=True)
    assert_error(tokened.post("/api/v1/me", **bearer(secret)), 405, "method_not_allowed")


def test_session_of_clinic_a_does_not_authenticate_on_clinic_b(clinic_a, clinic_b, client_for):
    client = client_for(clinic_a, "owner")
    assert client.get("/api/v1/me").status_code == 200
    client.defaults["HTTP_HOST"] = clinic_b.host
    assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
