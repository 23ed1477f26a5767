from tests.accounts.api_helpers import assert_error, bearer, make_token


def _names(response):
    assert response.status_code == 200, response.content
    return [loc["name"] for loc in response.json()["results"]]


def test_unrestricted_user_sees_every_active_location_with_session(clinic_a, client_for):
    response = client_for(clinic_a, "front_desk").get("/api/v1/locations")
    assert _names(response) == ["East branch", "Main branch"]
    first = response.json()["results"][0]
    assert set(first) == {"id", "name", "address", "phone", "gstin", "registration_number", "timezone"}
    assert response.json()["count"] == 2


def test_unrestricted_user_sees_every_active_location_with_token(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["pharmacist"])
    assert _names(client_for(clinic_a).get("/api/v1/locations", **bearer(secret))) == ["East branch", "Main branch"]


def test_location_restricted_user_sees_only_assigned_location(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    east = next(loc for loc in clinic_a.locations if loc.name == "East branch")
    with in_tenant(clinic_a):
        doctor.locations.set([east])
    assert _names(client_for(clinic_a, "doctor").get("/api/v1/locations")) == ["East branch"]
    secret = make_token(clinic_a, doctor)
    assert _names(client_for(clinic_a).get("/api/v1/locations", **bearer(secret))) == ["East branch"]


def test_deactivated_location_is_not_listed(clinic_a, client_for, in_tenant):
    main = next(loc for loc in clinic_a.locations if loc.name == "Main branch")
    with in_tenant(clinic_a):
        type(main).objects.filter(pk=main.pk).update(is_active=False)
    assert _names(client_for(clinic_a, "owner").get("/api/v1/locations")) == ["East branch"]


def test_locations_are_those_of_the_callers_clinic_only(clinic_a, clinic_b, client_for):
    ids_a = {loc["id"] for loc in client_for(clinic_a, "owner").get("/api/v1/locations").json()["results"]}
    ids_b = {loc["id"] for loc in client_for(clinic_b, "owner").get("/api/v1/locations").json()["results"]}
    assert ids_a == {str(loc.pk) for loc in clinic_a.locations}
    assert ids_a.isdisjoint(ids_b)


def test_locations_require_authentication(clinic_a, client_for):
    assert_error(client_for(clinic_a).get("/api/v1/locations"), 401)
