"""The platform console (public domain) in a real browser: the operator's two-step sign-in and every
console page pass axe in both themes, on a desktop and a phone (tests/browser/axe.py via Shots.step)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.browser

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "platform-ops-passphrase-26"


@pytest.fixture
def operator(browser_clinic: Any, django_db_blocker: Any):
    from accounts.services import platform_staff_save

    email = f"ops-{uuid.uuid4().hex[:6]}@docos.test"
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        user, _, _ = platform_staff_save(
            email=email, password=PASSWORD, full_name="Nandini Rao", totp_secret=TOTP_SECRET
        )
        connection.close()  # this thread's own connection, opened outside the package's fixtures
    return user  # left in the throwaway test database: the public audit chain names it


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_platform_console_signs_in_with_totp_and_its_pages_pass_axe(open_browser, browser_clinic, operator, size):
    public = f"http://{settings.DOCOS_BASE_DOMAIN}:{urlsplit(browser_clinic.base_url).port}"
    page, shots = open_browser(size)
    page.goto(f"{public}/platform/")
    page.wait_for_url("**/platform/login/**")
    shots.step("platform-sign-in")
    page.get_by_label("Email").fill(operator.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code").wait_for()
    shots.step("platform-two-factor")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/login" not in url)
    for path, name in [
        ("/platform/", "platform-clinics"),
        (f"/platform/clinics/{browser_clinic.clinic.slug}/", "platform-clinic"),
        ("/platform/plans/", "platform-plans"),
        ("/platform/failed-payments/", "platform-failed-payments"),
    ]:
        response = page.goto(f"{public}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        shots.step(name)
    assert "Sunrise Family Clinic" in page.goto(f"{public}/platform/?q=sunrise").text()
