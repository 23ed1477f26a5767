"""A clinic day in a real browser, on a desktop and on a phone: the doctor signs in (email, then
password), registers a patient with a penicillin allergy, books them for today, checks them in,
calls them in from the queue, writes the visit, prescribes amoxicillin (the allergy warning stops
the signature until a reason is given), signs and opens the PDF; a consent is signed on the canvas;
the owner goes through the settings. Every page is checked by axe (WCAG 2.2 AA, light and dark)
and, on the phone, for sideways scrolling."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SIZES = ["desktop", "phone"]


def _phone() -> str:
    """A mobile number of its own, so a patient is never taken for another one's duplicate."""
    return f"98{uuid.uuid4().int % 10**8:08d}"


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    viewport = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= viewport["width"]
        and box["y"] + box["height"] <= viewport["height"]
    )


def _register(page, shots, given: str, family: str, phone: str) -> str:
    page.get_by_role("link", name=re.compile(r"^Patients\b")).first.click()
    shots.step("patients")
    page.get_by_role("link", name="Register a patient").click()
    shots.step("register-form")
    page.get_by_label("Given name").fill(given)
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Sex").select_option("F")
    page.get_by_label("Or age in years").fill("34")
    page.get_by_label("Phone", exact=True).fill(phone)
    page.get_by_label("Allergies").fill("Penicillin — rash")
    page.get_by_role("button", name=re.compile("^Register")).click()
    page.get_by_role("heading", level=1, name=re.compile(given)).wait_for()
    shots.step("patient-registered")
    return page.url


@pytest.mark.parametrize("size", SIZES)
def test_doctor_registers_books_checks_in_consults_and_signs_a_prescription(open_browser, browser_clinic, size):
    page, shots = open_browser(size)
    sign_in(page, shots, browser_clinic.doctor_email)
    shots.step("home")
    given, family = {"desktop": ("Lakshmi", "Narayanan"), "phone": ("Priya", "Venkatesh")}[size]
    phone = _phone()
    patient_url = _register(page, shots, given, family, phone)

    # Book her for today, in the first free slot.
    page.goto("/appointments/new")
    shots.step("book-find-patient")
    page.get_by_label("Find the patient").fill(phone)
    page.get_by_role("button", name="Search").click()
    page.locator(".pick-list").get_by_role("link", name=f"{given} {family}").click()
    page.get_by_label("Location", exact=True).select_option(label="Jayanagar")
    page.get_by_label("Doctor", exact=True).select_option(label=browser_clinic.doctor_name)
    page.get_by_label("Date", exact=True).fill(browser_clinic.today.isoformat())
    page.get_by_label("Date", exact=True).dispatch_event("change")
    first_slot = page.locator("[data-slot-buttons] button").first
    first_slot.wait_for()
    shots.step("book-slots")
    first_slot.click()
    page.get_by_role("button", name="Book", exact=True).click()
    page.get_by_role("button", name="Check in").wait_for()
    shots.step("appointment")

    # Check in: she joins today's queue; the doctor calls her in from it.
    page.get_by_role("button", name="Check in").click()
    page.get_by_text(re.compile("Checked in: token")).wait_for()
    shots.step("checked-in")
    page.goto("/queue/")
    call_in = page.get_by_role("button", name="Call in")
    left = page.get_by_role("button", name="Left without being seen")
    call_in.wait_for()
    shots.step("queue")
    if size == "phone":
        call_in.scroll_into_view_if_needed()
        assert _in_viewport(page, call_in), "Call in is outside the phone's screen"
        left.scroll_into_view_if_needed()
        assert _in_viewport(page, left), "Left without being seen is outside the phone's screen"
    call_in.click()
    shots.step("called-in")

    # Consult: a visit note for her.
    page.goto(patient_url.rstrip("/") + "/visits/new")
    shots.step("visit-form")
    page.get_by_label("Chief complaint").fill("Sore throat and fever for 3 days")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("link", name="New prescription").wait_for()
    shots.step("visit")

    # Prescribe amoxicillin: the penicillin allergy stops the signature until a reason is given.
    page.get_by_role("link", name="New prescription").click()
    shots.step("prescription-form")
    row = page.locator("[data-formset-row]").first
    row.get_by_label("Medicine").fill("Amoxicillin 500 mg capsule")
    row.get_by_label("Medicine").press("Escape")
    row.get_by_label("Dose").fill("1 capsule")
    row.get_by_label("Frequency").fill("1-0-1")
    row.get_by_label("Duration").fill("5 days")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("heading", name="Safety warnings").wait_for()
    shots.step("prescription-allergy-warning")
    warning = page.locator(".rx-finding").first
    assert "enicillin" in warning.inner_text()
    page.get_by_role("button", name="Sign anyway").click()  # without a reason: refused
    page.get_by_role("heading", name="Safety warnings").wait_for()
    assert page.get_by_role("link", name="Open PDF").count() == 0
    page.get_by_label("Reason to sign anyway").first.fill("Tolerated amoxicillin last year without a rash.")
    page.get_by_role("button", name="Sign anyway").click()
    pdf_link = page.get_by_role("link", name="Open PDF")
    pdf_link.wait_for()
    shots.step("prescription-signed")

    # Open the PDF from the page, with the doctor's session.
    opened = page.evaluate(
        """async (url) => {
            const response = await fetch(url);
            const bytes = new Uint8Array(await response.arrayBuffer());
            return {status: response.status, type: response.headers.get("content-type"),
                    head: String.fromCharCode(...bytes.slice(0, 5)), size: bytes.length};
        }""",
        pdf_link.get_attribute("href"),
    )
    assert opened["status"] == 200, opened
    assert opened["type"].startswith("application/pdf") and opened["head"] == "%PDF-", opened


@pytest.mark.parametrize("size", SIZES)
def test_consent_is_signed_on_the_canvas(open_browser, browser_clinic, size):
    page, shots = open_browser(size)
    sign_in(page, shots, browser_clinic.doctor_email)
    given, family = {"desktop": ("Kavya", "Menon"), "phone": ("Divya", "Pillai")}[size]
    patient_url = _register(page, shots, given, family, _phone())

    page.goto(patient_url.rstrip("/") + "/consents/new")
    shots.step("consent-choose")
    page.get_by_label("Consent form").select_option(label="Procedure consent")
    page.get_by_label("Procedure").fill("Ear lobe repair")
    page.get_by_role("button", name="Continue to signing").click()
    canvas = page.locator("[data-signature-canvas]")
    canvas.wait_for()
    shots.step("consent-sign")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 12):
        x = box["x"] + 20 + step * (box["width"] - 40) / 11
        page.mouse.move(x, box["y"] + box["height"] / 2 + (-1) ** step * 15, steps=3)
    page.mouse.up()
    page.get_by_role("button", name="Sign consent").click()
    page.wait_for_url(re.compile(r"/consents/[0-9a-f-]+/$"))
    shots.step("consent-signed")
    assert "Ear lobe repair" in page.content()


@pytest.mark.parametrize("size", SIZES)
def test_owner_goes_through_the_settings(open_browser, browser_clinic, size):
    page, shots = open_browser(size)
    sign_in(page, shots, browser_clinic.owner_email)
    for path, name in [
        ("/settings/", "settings"),
        ("/settings/profile/", "settings-profile"),
        ("/settings/locations/", "settings-locations"),
        ("/settings/staff/", "settings-staff"),
        ("/settings/roles/", "settings-roles"),
        ("/settings/security/", "settings-security"),
        ("/appointments/schedules/", "settings-schedules"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        shots.step(name)
