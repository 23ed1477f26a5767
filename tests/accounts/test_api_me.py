from docos.capabilities import BUILTIN_ROLES
from tests.accounts.api_helpers import assert_error, bearer, make_token


def test_me_with_session_returns_profile_role_capabilities_and_clinic(clinic_a, client_for):
    doctor = clinic_a.users["doctor"]
    response = client_for(clinic_a, "doctor").get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(doctor.pk)
    assert body["email"] == doctor.email
    assert body["full_name"] == doctor.full_name
    assert body["role"] == {"slug": "doctor", "name": "Doctor"}
    assert body["capabilities"] == sorted(BUILTIN_ROLES["doctor"][1])
    assert body["clinic"] == {"name": "Alpha Clinic", "slug": "alpha"}
    assert body["all_locations"] is True
    assert [loc["name"] for loc in body["locations"]] == ["East branch", "Main branch"]
    assert body["two_factor_enabled"] is False


def test_me_with_bearer_token_and_no_session(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["front_desk"])
    response = client_for(clinic_a).get("/api/v1/me", **bearer(secret))
    assert response.status_code == 200
    assert response.json()["email"] == clinic_a.users["front_desk"].email
    assert "staff.manage" not in response.json()["capabilities"]


def test_me_for_user_without_role_has_no_capabilities(clinic_a, client_for):
    body = client_for(clinic_a, "no_role").get("/api/v1/me").json()
    assert body["role"] is None
    assert body["capabilities"] == []


def test_me_of_location_restricted_user_lists_only_assigned_locations(clinic_a, client_for, in_tenant):
    nurse = clinic_a.users["nurse"]
    main = next(loc for loc in clinic_a.locations if loc.name == "Main branch")
    with in_tenant(clinic_a):
        nurse.locations.set([main])
    body = client_for(clinic_a, "nurse").get("/api/v1/me").json()
    assert body["all_locations"] is False
    assert body["locations"] == [{"id": str(main.pk), "name": "Main branch"}]


def test_me_requires_authentication(clinic_a, client_for):
    response = client_for(clinic_a).get("/api/v1/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
