"""The consent log in a real browser: the chart's Privacy consents block, the log page's empty
state, a refused decision (focus on the error summary) and a recorded one; axe on every step, in
both themes (Shots.step)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_clinic_day import _phone, _register

pytestmark = pytest.mark.browser


def test_owner_records_a_marketing_withdrawal_on_the_consent_log(open_browser, browser_clinic):
    page, shots = open_browser("desktop")
    sign_in(page, shots, browser_clinic.owner_email)
    _register(page, shots, "Zoya", "Mirza", _phone())
    assert page.get_by_role("heading", name="Privacy consents").is_visible()
    page.get_by_role("link", name="Consent history and record a decision").click()
    page.get_by_role("heading", level=1, name="Privacy consents").wait_for()
    assert page.get_by_text("No consent decisions recorded yet").is_visible()
    shots.step("consent-log-empty")
    page.locator("#id_purpose").select_option("marketing")
    page.locator("#id_given_by").select_option("guardian")
    page.get_by_role("button", name="Record").click()
    page.locator("[data-error-summary]").wait_for()
    shots.step("consent-log-errors")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    page.locator("#id_given_by").select_option("patient")
    page.locator("#id_action").select_option("withdrawn")
    page.locator("#id_channel").select_option("phone")
    page.get_by_role("button", name="Record").click()
    page.get_by_text(re.compile("Recorded: Marketing messages withdrawn")).wait_for()
    shots.step("consent-log-recorded")
    row = page.locator("table tbody tr").first
    assert "Marketing messages" in row.inner_text() and "Withdrawn" in row.inner_text()
