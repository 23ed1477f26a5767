"""Browser tests: Playwright drives Debian's Chromium against a live DocOS server.

- `browser_clinic` (package scope): a committed clinic (owner, a doctor with working hours every
  day, an appointment type, a consent form) served by a live server thread, with this process's
  clock pinned to today 10:00 in India (ticking), so booking and checking in for today work at
  any hour. The browser keeps the real clock; the pages do not depend on it.
- `chromium` (package scope): one headless Chromium for the package, the system's build
  (`/usr/bin/chromium`, installed by scripts/system-deps.sh; override with DOCOS_CHROMIUM). Never
  `playwright install`. `*.testserver.local` resolves to 127.0.0.1 inside the browser, so each
  clinic is reached on its own host, as django-tenants routes it.
- `open_browser(size)`: a fresh context (cookies, storage) per test and screen size.
- `Shots`: screenshots of each step under var/browser/<test>/<step>-<size>.png (test artefacts).

Playwright's sync API keeps an asyncio loop running in this thread, which makes Django refuse ORM
calls here ("async context"); the fixtures allow them only while the browser is up (the live server
answers from its own thread, without a loop).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connection
from django.test.testcases import LiveServerThread
from django_tenants.utils import tenant_context

from docos.tenancy import clinic_host
from tests.browser.axe import accessibility_problems
from tests.celery_worker import _delete_files
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "browser"
IST = zoneinfo.ZoneInfo("Asia/Kolkata")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@dataclass
class BrowserClinic:
    clinic: Any
    base_url: str
    owner_email: str
    doctor_email: str
    doctor_name: str
    today: dt.date


def _clinic_morning() -> dt.datetime:
    """Today (in India) at 10:00: clinic hours, far from midnight, and close to the real date."""
    return dt.datetime.combine(dt.datetime.now(IST).date(), dt.time(10, 0), tzinfo=IST)


@pytest.fixture(scope="package")
def browser_clinic(committed_test_database: None, django_db_blocker: Any) -> Iterator[BrowserClinic]:
    from accounts.models import Location, Role, User
    from appointments import services as appointments
    from clinics.models import Clinic
    from clinics.services import clinic_create
    from documents import consents

    morning = _clinic_morning()
    slug = f"browser-{uuid.uuid4().hex[:8]}"
    # The live server thread reaches the database too: unblocked for the whole package.
    with time_machine.travel(morning, tick=True), django_db_blocker.unblock():
        connection.set_schema_to_public()
        created = clinic_create(
            slug=slug,
            name="Sunrise Family Clinic",
            owner_email=f"owner@{slug}.example.in",
            owner_name="Meera Iyer",
            owner_password=PASSWORD,
            locations=("Jayanagar", "Whitefield"),
        )
        with tenant_context(created.clinic):
            owner = created.owner
            doctor = User.objects.create_user(
                f"doctor@{slug}.example.in", PASSWORD, full_name="Dr. Arjun Rao", role=Role.objects.get(slug="doctor")
            )
            doctor.registration_number = "KMC-48213"  # printed on every prescription
            doctor.save(update_fields=["registration_number"])
            location = Location.objects.order_by("name").first()
            assert location is not None
            appointments.working_hours_add(
                clinician=doctor,
                location=location,
                weekdays=list(range(7)),
                start_time=dt.time(8, 0),
                end_time=dt.time(21, 0),
                actor=owner,
            )
            appointments.appointment_type_save(actor=owner, name="Consultation", duration_minutes=15, colour="#0b6bcb")
            consents.consent_template_create(
                actor=owner,
                name="Procedure consent",
                kind="procedure",
                body=(
                    "I, {{ patient_name }}, agree to {{ procedure }} at {{ clinic_name }} by {{ doctor_name }} "
                    "on {{ date }}. The risks were explained to me."
                ),
            )
        connection.set_schema_to_public()
        server = LiveServerThread("127.0.0.1", StaticFilesHandler)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        try:
            if server.error:
                raise server.error
            yield BrowserClinic(
                clinic=created.clinic,
                base_url=f"http://{clinic_host(slug)}:{server.port}",
                owner_email=owner.email,
                doctor_email=doctor.email,
                doctor_name=doctor.full_name,
                today=morning.date(),
            )
        finally:
            server.terminate()
            connection.set_schema_to_public()
            clinic = Clinic.objects.filter(pk=created.clinic.pk).first()
            if clinic is not None:
                _delete_files(clinic)
                connection.set_schema_to_public()
                clinic.delete(force_drop=True)
            connection.set_schema_to_public()


def chromium_path() -> str:
    path = os.environ.get("DOCOS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium (scripts/system-deps.sh).")
    return path


@pytest.fixture(scope="package")
def chromium(browser_clinic: BrowserClinic, pytestconfig: pytest.Config) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see the module docstring
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=not pytestconfig.getoption("headed", default=False),
            # clinics on their subdomains, the platform console on the bare domain
            args=["--host-resolver-rules=MAP *.testserver.local 127.0.0.1, MAP testserver.local 127.0.0.1"],
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if allowed is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


class Shots:
    """Screenshots of one test's steps, and the checks every page gets on the way. Their findings
    are collected and reported together when the test ends, so one run lists every page's problems."""

    def __init__(self, page: Any, folder: Path, size: str) -> None:
        self.page = page
        self.folder = folder
        self.size = size
        self.count = 0
        self.problems: list[str] = []

    def step(self, name: str, *, axe: bool = True) -> None:
        """Screenshot the page; check it with axe (light and dark) and, on a phone, its width."""
        self.count += 1
        self.page.wait_for_load_state("load")
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}-{self.size}.png"), full_page=True)
        where = f"{name} ({self.size}) {self.page.url}"
        if axe and (found := accessibility_problems(self.page, where=where)):
            self.problems.append(found)
        if self.size == "phone":
            overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                self.problems.append(f"{where}: the page scrolls sideways by {overflow}px")


@pytest.fixture
def open_browser(chromium: Any, browser_clinic: BrowserClinic, request: pytest.FixtureRequest) -> Iterator[Callable]:
    contexts: list[Any] = []
    shots: list[Shots] = []
    test_folder = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")

    def open_(size: str) -> tuple[Any, Shots]:
        width, height = SIZES[size]
        context = chromium.new_context(
            base_url=browser_clinic.base_url,
            viewport={"width": width, "height": height},
            locale="en-IN",
            timezone_id="Asia/Kolkata",
            is_mobile=size == "phone",
            has_touch=size == "phone",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm prompts
        folder = SHOTS / test_folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"*-{size}.png"):
            old.unlink()
        shots.append(Shots(page, folder, size))
        return page, shots[-1]

    yield open_
    for shot in shots:  # where each page ended: the place to look when a step failed
        shot.page.screenshot(path=str(shot.folder / f"zz-last-{shot.size}.png"), full_page=True)
    for context in contexts:
        context.close()
    problems = [problem for shot in shots for problem in shot.problems]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def sign_in(page: Any, shots: Shots, email: str) -> None:
    """The real two-step sign-in: the email, then the password on the next page."""
    page.goto("/login")
    shots.step("sign-in-email")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").wait_for()
    shots.step("sign-in-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
