"""TOTP second factor: enrolment with a QR code, sign-in with TOTP, and clinics that require it of admins."""

from __future__ import annotations

import base64
import io
import re
import time
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from accounts.login import SESSION_PENDING
from accounts.models import User
from clinics.models import Clinic
from tests.accounts.login_helpers import (
    audit_actions,
    password_login,
    request_code,
    signed_in_user_id,
)
from tests.conftest import PASSWORD

pytest_plugins = ["tests.accounts.auth_fixtures", "tests.accounts.smtp"]
pytestmark = pytest.mark.usefixtures("auth_state_clean")


def enrol(client) -> pyotp.TOTP:
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    secret = re.search(rb'<code class="mono">([A-Z2-7]{32})</code>', page.content).group(1).decode()
    totp = pyotp.TOTP(secret)
    response = client.post("/account/two-factor", {"code": totp.now()})
    assert response.status_code == 302 and response["Location"] == "/account/", response.content
    return totp


def other_step(totp: pyotp.TOTP, steps: int) -> str:
    """A code of an adjacent 30-second step (accepted; the current one may already be used)."""
    return totp.at(time.time() + 30 * steps)


def signed_in(seeded, client_for, role):
    client = client_for(seeded)
    assert password_login(client, seeded.users[role].email, PASSWORD)["Location"] == "/"
    return client


def test_enrolment_shows_secret_uri_and_a_png_qr_code(clinic_a, client_for):
    client = client_for(clinic_a, "doctor")
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    secret = re.search(rb'<code class="mono">([A-Z2-7]{32})</code>', page.content).group(1).decode()
    uri = pyotp.TOTP(secret).provisioning_uri(name=clinic_a.users["doctor"].email, issuer_name="DocOS Alpha Clinic")
    assert uri.replace("&", "&amp;").encode() in page.content
    png_b64 = re.search(rb'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page.content).group(1)
    png = base64.b64decode(png_b64)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.open(io.BytesIO(png))
    image.load()
    width, height = image.size
    assert width == height and width > 150
    scale = 6
    assert image.getpixel((0, 0)) == 255  # quiet zone
    assert image.getpixel((4 * scale, 4 * scale)) == 0  # finder pattern corner
    # The secret stays the same on reload until it is confirmed.
    assert secret.encode() in client.get("/account/two-factor").content


def test_enrolment_needs_a_right_code(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "doctor")
    client.get("/account/two-factor")
    response = client.post("/account/two-factor", {"code": "000000"})
    assert response.status_code == 400
    assert b"That code is not right" in response.content
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["doctor"].pk).totp_confirmed_at is None


def test_sign_in_asks_for_totp_once_enrolled(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    totp = enrol(client_for(clinic_a, "doctor"))
    with in_tenant(clinic_a):
        stored = User.objects.get(pk=doctor.pk)
        assert stored.totp_confirmed_at is not None
        assert stored.totp_secret == totp.secret
    assert audit_actions(clinic_a, action="auth.totp_enable", actor_id=doctor.pk)

    client = client_for(clinic_a)
    response = password_login(client, doctor.email, PASSWORD)
    assert response["Location"] == "/login/two-factor"
    assert signed_in_user_id(client, clinic_a) is None
    assert client.get("/")["Location"].startswith("/login")
    wrong = client.post("/login/two-factor", {"code": "000000"})
    assert wrong.status_code == 400 and b"That code is not right" in wrong.content
    code = other_step(totp, 1)
    assert client.post("/login/two-factor", {"code": code})["Location"] == "/"
    assert signed_in_user_id(client, clinic_a) == str(doctor.pk)
    [event] = audit_actions(clinic_a, action="auth.login", actor_id=doctor.pk)
    assert event.metadata == {"method": "password", "second_factor": "totp"}
    [failure] = audit_actions(clinic_a, action="auth.login_failed", object_id=str(doctor.pk))
    assert failure.metadata == {"method": "totp", "reason": "bad_totp"}

    # The same TOTP code cannot be replayed.
    replay = client_for(clinic_a)
    password_login(replay, doctor.email, PASSWORD)
    assert replay.post("/login/two-factor", {"code": code}).status_code == 400


def test_emailed_code_sign_in_also_asks_for_totp(clinic_a, client_for, smtp):
    doctor = clinic_a.users["doctor"]
    totp = enrol(client_for(clinic_a, "doctor"))
    client = client_for(clinic_a)
    request_code(client, doctor.email)
    assert client.post("/login/code", {"code": smtp.last_code(doctor.email)})["Location"] == "/login/two-factor"
    assert client.post("/login/two-factor", {"code": other_step(totp, -1)})["Location"] == "/"
    assert signed_in_user_id(client, clinic_a) == str(doctor.pk)


def test_totp_step_expires(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    totp = enrol(client_for(clinic_a, "doctor"))
    client = client_for(clinic_a)
    password_login(client, doctor.email, PASSWORD)
    with in_tenant(clinic_a):
        session = client.session
        session[SESSION_PENDING] = {**session[SESSION_PENDING], "expires": time.time() - 1}
        session.save()
    response = client.post("/login/two-factor", {"code": other_step(totp, 1)})
    assert response["Location"] == "/login"
    assert signed_in_user_id(client, clinic_a) is None


def test_totp_step_without_a_first_factor_goes_back_to_sign_in(clinic_a, client_for):
    assert client_for(clinic_a).get("/login/two-factor")["Location"] == "/login"


def test_totp_can_be_turned_off_with_a_code(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "doctor")
    totp = enrol(client)
    assert client.post("/account/two-factor/disable", {"code": "000000"}).status_code == 400
    assert client.post("/account/two-factor/disable", {"code": other_step(totp, 1)})["Location"] == "/account/"
    with in_tenant(clinic_a):
        stored = User.objects.get(pk=clinic_a.users["doctor"].pk)
        assert stored.totp_confirmed_at is None and stored.totp_secret is None
    assert password_login(client_for(clinic_a), clinic_a.users["doctor"].email, PASSWORD)["Location"] == "/"


def test_totp_failures_count_towards_the_lockout(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    enrol(client_for(clinic_a, "doctor"))
    client = client_for(clinic_a)
    password_login(client, doctor.email, PASSWORD)
    responses = [client.post("/login/two-factor", {"code": "000000"}) for _ in range(10)]
    assert b"Too many failed attempts" in responses[-1].content
    with in_tenant(clinic_a):
        assert User.objects.get(pk=doctor.pk).locked_until > timezone.now() + timedelta(minutes=14)


def require_2fa(seeded):
    Clinic.objects.filter(pk=seeded.clinic.pk).update(require_2fa_for_admins=True)


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_clinic_requiring_2fa_sends_admins_to_setup_before_anything_else(clinic_a, client_for, role):
    require_2fa(clinic_a)
    client = signed_in(clinic_a, client_for, role)
    for path in ("/", "/account/", "/settings/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/two-factor", path
    api = client.get("/api/v1/schema/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "two_factor_setup_required"
    setup = client.get("/account/two-factor")
    assert setup.status_code == 200
    assert b"requires two-factor authentication" in setup.content
    totp = enrol(client)
    assert client.get("/").status_code == 200
    # From now on the TOTP step is part of their sign-in.
    again = client_for(clinic_a)
    assert password_login(again, clinic_a.users[role].email, PASSWORD)["Location"] == "/login/two-factor"
    assert again.post("/login/two-factor", {"code": other_step(totp, 1)})["Location"] == "/"


def test_requirement_also_reaches_admins_who_were_already_signed_in(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    assert client.get("/").status_code == 200
    require_2fa(clinic_a)
    assert client.get("/")["Location"] == "/account/two-factor"


def test_requirement_does_not_apply_to_other_roles(clinic_a, client_for):
    require_2fa(clinic_a)
    assert signed_in(clinic_a, client_for, "doctor").get("/").status_code == 200


def test_admins_cannot_turn_off_required_2fa(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "owner")
    totp = enrol(client)
    require_2fa(clinic_a)
    response = client.post("/account/two-factor/disable", {"code": other_step(totp, 1)})
    assert response.status_code == 400
    assert b"requires two-factor authentication" in response.content
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["owner"].pk).totp_confirmed_at is not None
