"""Accessibility behaviour in a real browser (issue 14), beyond what axe checks on every page
(tests/browser/axe.py, via Shots.step): focus after a failed submit, the idle-timeout warning as a
named dialog that takes focus and gives it back, short live-region announcements for searches, and
axe over the pages the clinic-day flow does not visit (settings console, inbox, lists, API docs, billing)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_clinic_day import _phone, _register

pytestmark = pytest.mark.browser

OWNER_PAGES = [
    ("/settings/locations/new/", "location-new"),
    ("/settings/staff/invite/", "staff-invite"),
    ("/settings/roles/new/", "role-new"),
    ("/settings/tokens/", "tokens"),
    ("/settings/audit/", "audit"),
    ("/settings/audit/retention/", "retention"),
    ("/settings/whatsapp/", "whatsapp"),
    ("/inbox/", "inbox"),
    ("/appointments/", "appointments-day"),
    ("/appointments/calendar", "appointments-calendar"),
    ("/appointments/schedules/leaves", "schedule-leaves"),
    ("/appointments/schedules/holidays", "schedule-holidays"),
    ("/appointments/schedules/types", "schedule-types"),
    ("/appointments/schedules/reminders", "schedule-reminders"),
    ("/patients/import/", "patients-import"),
    ("/visits/", "visits"),
    ("/visits/follow-ups", "follow-ups"),
    ("/prescriptions/", "prescriptions"),
    ("/consents/templates/", "consent-templates"),
    ("/certificates/templates/", "certificate-templates"),
    ("/icd10/?q=typhoid", "icd10-lookup"),
    ("/api/v1/docs/", "api-docs"),
]


def _focused(page) -> str:
    """What has keyboard focus: its id, else its tag and text."""
    return page.evaluate(
        "() => { const el = document.activeElement; return el.id || (el.tagName + ':' + el.textContent.trim()); }"
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_pages_outside_the_clinic_day_pass_axe_in_both_themes(open_browser, browser_clinic, size):
    page, shots = open_browser(size)
    sign_in(page, shots, browser_clinic.owner_email)
    for path, name in OWNER_PAGES:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        if path.startswith("/api/v1/docs"):
            page.locator(".swagger-ui .opblock").first.wait_for()  # Swagger UI has drawn the operations
            shots.step(name)
            # One operation opened: its parameters, responses and "Try it out" too.
            page.locator(".swagger-ui .opblock-summary-control").first.click()
            page.locator(".swagger-ui .opblock-body").first.wait_for()
            shots.step(f"{name}-operation")
        else:
            shots.step(name)


def test_failed_submit_moves_focus_to_an_error_summary_that_links_to_each_field(open_browser, browser_clinic):
    page, shots = open_browser("desktop")
    sign_in(page, shots, browser_clinic.doctor_email)
    page.goto("/patients/new")
    page.get_by_label("Family name").fill("Subramanian")
    page.get_by_label("Phone", exact=True).fill("12")
    page.get_by_role("button", name=re.compile("^Register")).click()
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    shots.step("register-errors")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')"), _focused(page)
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    given = page.get_by_label("Given name")
    assert given.get_attribute("aria-invalid") == "true"
    summary.get_by_role("link", name=re.compile("^Given name:")).click()
    assert _focused(page) == "id_given_name"
    summary.get_by_role("link", name=re.compile("^Phone:")).click()
    assert _focused(page) == "id_phone"
    # Read with the field: its error text (an id that exists; axe.py checks every page for dangling ones).
    described = page.evaluate(
        "() => document.getElementById('id_phone').getAttribute('aria-describedby').split(' ')"
        ".map((id) => document.getElementById(id).textContent.trim()).join(' ')"
    )
    assert "Enter a phone number" in described


def test_idle_warning_is_a_named_dialog_that_takes_focus_and_gives_it_back(open_browser, browser_clinic):
    page, shots = open_browser("desktop")
    page.clock.install()
    sign_in(page, shots, browser_clinic.doctor_email)
    page.goto("/patients/")
    search = page.get_by_label("Find a patient")
    search.focus()
    idle = int(page.evaluate("document.body.dataset.idleSeconds"))
    page.clock.fast_forward((idle - 120 + 1) * 1000)
    dialog = page.get_by_role("alertdialog", name="Still there?")
    dialog.wait_for()
    assert dialog.get_attribute("aria-describedby") == "idle-warning-text"
    assert "signed out in" in page.locator("#idle-warning-text").inner_text()
    assert _focused(page) == "BUTTON:Stay signed in"
    shots.step("idle-warning")
    page.keyboard.press("Enter")
    dialog.wait_for(state="hidden")
    assert _focused(page) == "patient-q"


def test_searches_announce_a_short_count(open_browser, browser_clinic):
    page, shots = open_browser("desktop")
    sign_in(page, shots, browser_clinic.doctor_email)
    phone = _phone()
    patient_url = _register(page, shots, "Farida", "Sheikh", phone)

    page.goto("/patients/")
    results = page.locator("#patient-results")
    status = page.locator("#patient-results-status")
    assert results.get_attribute("aria-live") is None  # the list itself is not re-read on each keystroke
    assert status.get_attribute("role") == "status"
    page.get_by_label("Find a patient").press_sequentially(phone, delay=20)
    expect(status).to_have_text("1 patient found")
    page.get_by_label("Find a patient").fill("Qwzxvbk Plmnqr")
    expect(status).to_have_text(re.compile("^No patient found"))

    page.goto(patient_url.rstrip("/") + "/prescriptions/new")
    medicine = page.locator("[data-formset-row]").first.get_by_label("Medicine")
    live = page.locator("[data-combo-status]")
    assert live.get_attribute("role") == "status"
    medicine.press_sequentially("Amoxi", delay=30)
    expect(live).to_have_text(re.compile(r"^\d+ medicines? found$"))
    medicine.fill("")
    medicine.press_sequentially("Qqxzvw", delay=30)
    expect(live).to_have_text("No medicine found")
    shots.step("medicine-not-found")


def _billing_records(browser_clinic) -> tuple[str, str]:
    """An issued, part-paid invoice of a fresh patient and one price-list item: (invoice id, item id)."""
    import uuid
    from decimal import Decimal

    from django.db import connection
    from django_tenants.utils import tenant_context

    from accounts.models import Location, User
    from billing import services
    from clinical.models import Visit
    from clinics.models import Clinic
    from patients.models import Patient

    Clinic.objects.filter(pk=browser_clinic.clinic.pk).update(billing_state="Karnataka")
    browser_clinic.clinic.billing_state = "Karnataka"
    with tenant_context(browser_clinic.clinic):
        owner = User.objects.get(email=browser_clinic.owner_email)
        doctor = User.objects.get(email=browser_clinic.doctor_email)
        location = Location.objects.order_by("name").first()
        item = services.price_item_create(
            actor=owner, name=f"Consultation {uuid.uuid4().hex[:4]}", kind="service", sac_hsn="999312",
            tax_class="health_exempt", default_price=Decimal("600"), add_to_visits=True,
        )  # fmt: skip
        patient = Patient.objects.create(
            mrn=f"B-{uuid.uuid4().hex[:6]}", given_name="Kavya", family_name="Menon", sex="F",
            registered_location=location,
        )  # fmt: skip
        visit = Visit.objects.create(patient=patient, location=location, clinician=doctor)
        invoice = services.invoice_issue(
            actor=owner, invoice=services.invoice_create_for_visit(actor=owner, visit=visit)
        )
        services.payment_record(actor=owner, invoice=invoice, mode="upi", amount=Decimal("200"), reference="UTR 5521")
    connection.close()  # this thread's session would otherwise outlive the test database
    return str(invoice.pk), str(item.pk)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_billing_pages_pass_axe(open_browser, browser_clinic, size):
    invoice_id, item_id = _billing_records(browser_clinic)
    page, shots = open_browser(size)
    sign_in(page, shots, browser_clinic.owner_email)
    for path, name in [
        ("/billing/", "invoices"),
        (f"/billing/invoices/{invoice_id}/", "invoice"),
        ("/billing/price-list/", "price-list"),
        (f"/billing/price-list/{item_id}/", "price-item"),
        ("/billing/numbering/", "numbering"),
        ("/billing/day-book/", "day-book"),
        ("/billing/outstanding/", "outstanding"),
        ("/billing/gst-summary/", "gst-summary"),
        ("/settings/razorpay/", "settings-razorpay"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        shots.step(f"billing-{name}")
    # The numbering page's refusal is announced and reads as a list of reasons.
    page.goto("/billing/numbering/")
    first = page.locator("form").filter(has=page.get_by_role("button", name=re.compile("^Save prefixes"))).first
    first.locator("input[name=invoice_prefix]").fill("bad!")
    first.get_by_role("button", name=re.compile("^Save prefixes")).click()
    expect(page.get_by_role("alert").first).to_contain_text("capital letters or digits")
    shots.step("billing-numbering-refused")
