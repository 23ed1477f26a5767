"""Imaging pages in a real browser (Playwright + Debian's Chromium). The local-only DICOM viewer renders
pydicom's CT from a file chosen on disk, sends nothing anywhere while doing so, and reloads and works
offline; a share link shows its study, drawn by the clinic viewer, to a visitor who is not signed in.

The page lives on the bare domain (testserver.local). A service worker needs a secure origin, which
plain http://testserver.local is not, so this Chromium is told to treat the live server's origin as
secure, as https is in production (localhost, the development address, is secure anyway).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread
from django.utils import timezone

from tests.browser.axe import accessibility_problems

pytestmark = pytest.mark.usefixtures("committed_test_database")

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "browser" / "local_viewer"


def _chromium_path() -> str:
    path = os.environ.get("DOCOS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is missing: `make install` installs Debian's chromium (scripts/system-deps.sh).")
    return path


def _dicom(name: str) -> Path:
    from pydicom.data import get_testdata_file

    found = get_testdata_file(name)
    assert found, f"pydicom ships {name}"
    return Path(str(found))


@pytest.fixture(scope="module")
def public_site(django_db_blocker: Any) -> Iterator[str]:
    if not (ROOT / "static" / "build" / "local_viewer.js").exists():
        pytest.fail("static/build/local_viewer.js is missing: `make install` (or `make frontend`) builds it.")
    with django_db_blocker.unblock():
        started = timezone.now()
        server = LiveServerThread("127.0.0.1", StaticFilesHandler)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        try:
            if server.error:
                raise server.error
            yield f"http://{settings.DOCOS_BASE_DOMAIN}:{server.port}"
        finally:
            server.terminate()
            _close_server_sessions(started)


def _close_server_sessions(since: Any) -> None:
    """The live server's request threads can leave an idle session on the test database; end those
    (idle sessions of this test database opened while the server ran), or the test database cannot
    be dropped at the end of the run. Our own session and older ones (a Celery worker's) stay."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'idle' AND backend_start >= %s",
            [since],
        )


@pytest.fixture(scope="module")
def viewer_chromium(public_site: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread; see tests/browser
    playwright = sync_playwright().start()
    domain = settings.DOCOS_BASE_DOMAIN  # the public site, and *.domain for the clinics
    try:
        chromium = playwright.chromium.launch(
            executable_path=_chromium_path(),
            args=[
                f"--host-resolver-rules=MAP {domain} 127.0.0.1, MAP *.{domain} 127.0.0.1",
                f"--unsafely-treat-insecure-origin-as-secure={public_site}",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if allowed is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


CANVAS_STATS = """() => {
  const canvases = Array.from(document.querySelectorAll('#lvImage canvas'));
  let lit = 0, total = 0; const levels = new Set();
  for (const canvas of canvases) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      total += 1;
      if (data[i + 3] > 0 && (data[i] + data[i + 1] + data[i + 2]) > 30) { lit += 1; levels.add(data[i]); }
    }
  }
  return {canvases: canvases.length, lit, total, levels: levels.size};
}"""


def _assert_rendered(page: Any, count: int) -> dict[str, int]:
    try:
        page.locator(f"#local-viewer[data-rendered='{count}']").wait_for(state="attached")
    except Exception as exc:
        raise AssertionError(f"not rendered; the page says: {page.locator('#lv-status').inner_text()!r}") from exc
    stats = page.evaluate(CANVAS_STATS)
    assert stats["canvases"] >= 1, stats
    # A CT slice: thousands of lit pixels in many grey levels, not a blank or one-colour canvas.
    assert stats["lit"] > 2000, stats
    assert stats["levels"] > 20, stats
    return stats


def test_local_viewer_renders_a_ct_from_disk_uploads_nothing_and_works_offline(
    viewer_chromium: Any, public_site: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = viewer_chromium.new_context(base_url=public_site, viewport={"width": 1280, "height": 900}, locale="en-IN")
    context.set_default_timeout(20_000)
    requests: list[Any] = []
    context.on("request", lambda request: requests.append(request))
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: problems.extend([message.text] if message.type == "error" else []))
        page.goto("/dicom-viewer/")
        page.locator("#local-viewer[data-offline-ready='true']").wait_for(state="attached")
        assert page.get_by_role("heading", name="DICOM viewer on this device").is_visible()
        own_assets = {urlsplit(request.url).path for request in requests}
        assert "/static/build/local_viewer.js" in own_assets

        # Viewing: open the CT, an MR and a file that is not DICOM from "disk".
        viewing_from = len(requests)
        not_dicom = SHOTS / "notes.txt"
        not_dicom.write_text("not a DICOM file")
        page.set_input_files("#lv-files", [str(_dicom("CT_small.dcm")), str(_dicom("MR_small.dcm")), str(not_dicom)])
        _assert_rendered(page, 1)
        page.screenshot(path=str(SHOTS / "01-ct.png"))
        if found := accessibility_problems(page, where="local viewer with a CT open"):
            problems.append(found)
        assert page.locator("#lv-series button").count() == 2
        assert "notes.txt: not a DICOM file, skipped" in page.locator("#lv-skipped").inner_text()
        assert page.locator("#lv-slice").inner_text() == "Image 1 / 1"

        # Window/level by dragging, then a preset; zoom with the wheel; the metadata panel.
        before = page.locator("#lv-wl").inner_text()
        page.get_by_role("button", name="Window/level").click()
        page.locator("#lv-stage").scroll_into_view_if_needed()
        box = page.locator("#lv-stage").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 60, steps=8)
        page.mouse.up()
        assert page.locator("#lv-wl").inner_text() != before
        page.select_option("#lv-preset", "lung")
        assert page.locator("#lv-wl").inner_text() == "W 1500 / L -500"
        page.get_by_role("button", name="Zoom/pan").click()
        page.mouse.wheel(0, -300)
        page.locator("summary", has_text="Metadata").click()
        page.get_by_label("Filter tags").fill("PatientName")
        visible_rows = page.locator("#lv-meta-body tr:visible")
        assert visible_rows.count() >= 1
        assert "CompressedSamples^CT1" in visible_rows.first.inner_text()
        # The other series.
        page.locator("#lv-series button", has_text="MR").click()
        _assert_rendered(page, 2)

        during_viewing = requests[viewing_from:]
        uploads = [f"{r.method} {r.url}" for r in during_viewing if r.method != "GET"]
        assert uploads == [], uploads
        # Anything fetched while viewing is one of the page's own static files (none, in practice).
        fetched = [r.url for r in during_viewing if r.url.startswith("http")]
        foreign = [url for url in fetched if not url.startswith(public_site) or urlsplit(url).path not in own_assets]
        assert foreign == [], foreign
        assert all(r.method == "GET" for r in requests), [f"{r.method} {r.url}" for r in requests]

        # The network goes away: the page reloads from the service worker and still shows a CT.
        context.set_offline(True)
        offline_from = len(requests)
        reloaded = page.reload()
        assert reloaded is not None and reloaded.ok and reloaded.from_service_worker
        page.locator("#local-viewer[data-ready='true']").wait_for(state="attached")
        page.set_input_files("#lv-files", str(_dicom("CT_small.dcm")))
        stats = _assert_rendered(page, 1)
        page.screenshot(path=str(SHOTS / "02-offline.png"))
        assert stats["lit"] > 2000
        # Only the service worker's own try for a fresh page may fail (it then answers from its cache).
        failed = [r.url for r in requests[offline_from:] if r.failure and r.service_worker is None]
        assert failed == [], failed
        assert problems == [], problems
    finally:
        context.close()


SHARE_CANVAS_DRAWN = """() => {
  const canvas = document.querySelector('[data-imaging-viewer] canvas');
  if (!canvas || !canvas.width) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 30) lit += 1;
  return lit > 2000;
}"""


def test_a_share_link_shows_the_study_in_the_browser_without_signing_in(
    viewer_chromium: Any, public_site: str, throwaway_clinic: Any, django_db_blocker: Any, settings: Any
) -> None:
    """The patient-facing page draws the shared CT through the clinic viewer (frames from the link's URLs)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from documents.signing import current_clinic
    from imaging import ingest, services, share
    from imaging.models import Study
    from patients.models import Patient
    from tests.imaging.imaging_helpers import shipped

    settings.STORAGES = {**settings.STORAGES, "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    owner = throwaway_clinic.owner
    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        patient = Patient.objects.create(
            mrn="SH-0001",
            given_name="Joseph",
            family_name="Varghese",
            registered_location=throwaway_clinic.locations[0],
        )
        upload = services.upload_start(patient=patient, actor=owner, files_expected=1)
        data = shipped("CT_small.dcm")
        services.upload_chunk_receive(
            upload=upload, actor=owner, file_index=0, chunk_index=0, chunk_count=1, name="ct.dcm", data=data
        )
        services.upload_submit(upload=upload, actor=owner, enqueue=False)
        ingest.upload_process(clinic=current_clinic(), upload_id=upload.pk)
        _, secret = share.share_create(study=Study.objects.get(patient=patient), actor=owner)
    connection.set_schema_to_public()
    port = public_site.rsplit(":", 1)[1]
    context = viewer_chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto(f"http://{throwaway_clinic.clinic.slug}.{settings.DOCOS_BASE_DOMAIN}:{port}/share/imaging/{secret}/")
        page.wait_for_function(SHARE_CANVAS_DRAWN)
        page.screenshot(path=str(SHOTS / "03-share.png"))
        assert "Joseph" not in page.content() and "SH-0001" not in page.content()
    finally:
        context.close()
