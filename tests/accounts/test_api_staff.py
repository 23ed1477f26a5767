import uuid

from tests.accounts.api_helpers import assert_error, bearer, make_token


def _emails(response):
    assert response.status_code == 200, response.content
    return {member["email"] for member in response.json()["results"]}


def test_owner_lists_active_staff_with_session(clinic_a, client_for):
    response = client_for(clinic_a, "owner").get("/api/v1/staff")
    assert _emails(response) == {user.email for user in clinic_a.users.values()}
    body = response.json()
    assert body["count"] == len(clinic_a.users)
    assert set(body) == {"count", "next", "previous", "results"}
    doctor = next(m for m in body["results"] if m["email"] == clinic_a.users["doctor"].email)
    assert doctor["role"] == {"slug": "doctor", "name": "Doctor"}
    assert doctor["locations"] == []
    assert doctor["is_active"] is True


def test_administrator_lists_staff_with_token(clinic_a, client_for):
    secret = make_token(clinic_a, clinic_a.users["administrator"])
    response = client_for(clinic_a).get("/api/v1/staff", **bearer(secret))
    assert _emails(response) == {user.email for user in clinic_a.users.values()}


def test_staff_list_filters_by_text_and_role(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    assert _emails(client.get("/api/v1/staff", {"role": "nurse"})) == {clinic_a.users["nurse"].email}
    assert _emails(client.get("/api/v1/staff", {"q": "pharmacist@"})) == {clinic_a.users["pharmacist"].email}
    assert _emails(client.get("/api/v1/staff", {"q": "Doctor", "role": "nurse"})) == set()


def test_staff_list_hides_deactivated_staff_unless_asked(clinic_a, client_for, in_tenant):
    nurse = clinic_a.users["nurse"]
    with in_tenant(clinic_a):
        type(nurse).objects.filter(pk=nurse.pk).update(is_active=False)
    client = client_for(clinic_a, "owner")
    assert nurse.email not in _emails(client.get("/api/v1/staff"))
    assert _emails(client.get("/api/v1/staff", {"status": "inactive"})) == {nurse.email}


def test_staff_list_rejects_unknown_role_with_field_error(clinic_a, client_for):
    response = client_for(clinic_a, "owner").get("/api/v1/staff", {"role": "wizard", "status": "sleeping"})
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"role", "status"}


def test_staff_list_is_paginated(clinic_a, client_for, in_tenant):
    from accounts.models import User

    with in_tenant(clinic_a):
        User.objects.bulk_create(
            [User(email=f"extra{i}@alpha.example.in", full_name=f"Extra {i:02d}", password="!") for i in range(55)]
        )
    client = client_for(clinic_a, "owner")
    first = client.get("/api/v1/staff").json()
    assert first["count"] == len(clinic_a.users) + 55
    assert len(first["results"]) == 50
    assert first["next"] is not None
    second = client.get("/api/v1/staff", {"page": 2}).json()
    assert len(second["results"]) == first["count"] - 50
    past_the_end = assert_error(client.get("/api/v1/staff", {"page": 9}), 400, "invalid")
    assert past_the_end["fields"] == {"page": ["There is no page 9; the last page is 2."]}


def test_doctor_cannot_list_staff(clinic_a, client_for):
    assert_error(client_for(clinic_a, "doctor").get("/api/v1/staff"), 403, "permission_denied")
    secret = make_token(clinic_a, clinic_a.users["doctor"])
    assert_error(client_for(clinic_a).get("/api/v1/staff", **bearer(secret)), 403, "permission_denied")


def test_owner_reads_one_member_of_staff(clinic_a, client_for):
    nurse = clinic_a.users["nurse"]
    response = client_for(clinic_a, "owner").get(f"/api/v1/staff/{nurse.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(nurse.pk)
    assert body["email"] == nurse.email
    assert body["role"] == {"slug": "nurse", "name": "Nurse"}
    assert {"phone", "registration_number", "qualifications", "two_factor_enabled", "date_joined"} <= set(body)
    assert "password" not in body and "totp_secret" not in body


def test_staff_detail_of_other_clinic_and_missing_id_give_identical_404(clinic_a, clinic_b, client_for):
    client = client_for(clinic_a, "owner")
    other_clinic = client.get(f"/api/v1/staff/{clinic_b.users['doctor'].pk}")
    missing = client.get(f"/api/v1/staff/{uuid.uuid4()}")
    assert_error(other_clinic, 404, "not_found")
    assert other_clinic.content == missing.content
    assert other_clinic.status_code == missing.status_code


def test_front_desk_cannot_read_staff_detail(clinic_a, client_for):
    nurse = clinic_a.users["nurse"]
    assert_error(client_for(clinic_a, "front_desk").get(f"/api/v1/staff/{nurse.pk}"), 403)
