"""Imaging in the browser: a doctor uploads a folder's DICOM files and a ZIP from the chart in chunks,
watches the ingest finish, reads the report, then scrolls, windows, measures and inspects the CT."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect
from pydicom.uid import generate_uid

from tests.browser.conftest import sign_in
from tests.imaging.imaging_helpers import shipped, synthetic_ct, zip_of

pytestmark = pytest.mark.browser


def _process_when_queued(clinic: Any, *, timeout: float = 60) -> None:
    """What the `imaging` worker does: process the upload once the page has submitted it."""
    from imaging import ingest
    from imaging.models import Upload

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_context(clinic):
            submitted = list(Upload.objects.exclude(status=Upload.Status.RECEIVING))
            for upload in submitted:  # a real worker started earlier in the session may have taken it
                if upload.status == Upload.Status.QUEUED:
                    ingest.upload_process(clinic=clinic, upload_id=upload.pk)
        connection.set_schema_to_public()
        if submitted:
            return
        time.sleep(0.2)
    raise AssertionError("the upload was never submitted")


@pytest.fixture
def own_connection() -> Any:
    """The ORM calls in this test body run while Playwright's event loop is running in the thread,
    so they get a database session of their own (asgiref's Local is per context): closed at the end,
    or it would outlive the test database."""
    yield
    connection.close()


def test_doctor_uploads_dicom_and_reads_the_ct_in_the_viewer(open_browser, browser_clinic, tmp_path, own_connection):
    from accounts.models import Location
    from imaging.models import Study
    from patients.models import Patient

    with tenant_context(browser_clinic.clinic):
        patient = Patient.objects.create(
            mrn=f"IMG-{generate_uid()[-6:]}",
            given_name="Joseph",
            family_name="Varghese",
            sex="M",
            registered_location=Location.objects.order_by("name").first(),
        )
    connection.set_schema_to_public()
    study, series = generate_uid(), generate_uid()
    folder = tmp_path / "CT"
    folder.mkdir()
    for n in (1, 2, 3):
        (folder / f"IM{n}").write_bytes(
            synthetic_ct(rows=128, columns=128, study_uid=study, series_uid=series, number=n, PixelSpacing=[0.5, 0.5])
        )
    archive = tmp_path / "mr.zip"
    archive.write_bytes(zip_of([("MR/IM1", shipped("MR_small.dcm")), ("README.TXT", b"viewer")]))

    page, shots = open_browser("desktop")
    sign_in(page, shots, browser_clinic.doctor_email)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Upload DICOM").click()
    page.wait_for_url(f"**/patients/{patient.pk}/imaging/upload")
    shots.step("upload-page")
    page.locator("#img-files").set_input_files([str(folder / "IM1"), str(folder / "IM2"), str(archive)])
    page.locator("#img-folder").set_input_files(str(folder))  # the same slices again, as a folder
    page.get_by_role("button", name="Upload", exact=True).click()
    _process_when_queued(browser_clinic.clinic)
    page.locator("[data-done]").wait_for(state="visible", timeout=60_000)
    label = page.locator("[data-index-label]").inner_text()
    assert "Done" in label and "4 stored" in label and "2 already there" in label and "1 error" in label
    shots.step("upload-done")

    page.get_by_role("link", name="See the upload report").click()
    page.get_by_text("README.TXT").wait_for()
    assert "This is not a DICOM file." in page.content()
    shots.step("upload-report")

    with tenant_context(browser_clinic.clinic):
        ct = Study.objects.get(patient=patient, modalities=["CT"])
    connection.set_schema_to_public()
    page.goto(f"/imaging/studies/{ct.pk}/")
    slice_info = page.locator("[data-info-slice]")
    expect(slice_info).to_contain_text("Image 2 / 3")
    page.locator("[data-stage]").focus()
    page.keyboard.press("ArrowDown")
    expect(slice_info).to_contain_text("Image 3 / 3")
    page.mouse.move(640, 400)
    stage = page.locator("[data-stage]").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
    page.mouse.wheel(0, -120)
    expect(slice_info).to_contain_text("Image 2 / 3")

    with page.expect_response(lambda r: "wc=-600" in r.url and "ww=1500" in r.url) as lung:
        page.get_by_role("button", name="Lung").click()
    assert lung.value.status == 200 and lung.value.headers["content-type"] == "image/png"
    assert "W 1500  L -600" in page.locator("[data-info-window]").inner_text()

    page.get_by_role("button", name="Measure", exact=True).click()
    # The 128-pixel image fills the stage's height; drag across a quarter of it horizontally.
    scale = min(stage["width"], stage["height"]) / 128
    x0, y0 = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 40 * scale, y0, steps=5)
    page.mouse.up()
    distance = page.locator("[data-measure]").inner_text()
    assert distance.startswith("Distance: ") and distance.endswith(" mm")
    assert abs(float(distance.split()[1]) - 20.0) < 1.5  # 40 pixels x 0.5 mm

    page.get_by_role("button", name="Metadata").click()
    page.locator("[data-meta-rows] tr").first.wait_for()
    assert "Modality" in page.locator("[data-meta]").inner_text()
    shots.step("viewer")
    page.wait_for_load_state("networkidle")  # no frame request left running when the server stops
