"""Imaging pages and image requests: who may see and upload, the same 404 for other clinics' and
other branches' studies, the chunked upload over HTTP, search filters, frames cached encrypted."""

from __future__ import annotations

import io
import json

import pytest
from django.core.cache import cache
from django.http import Http404
from django_tenants.utils import tenant_context
from PIL import Image
from pydicom.uid import generate_uid

from audit.models import RecordAccess
from docos import crypto
from documents.signing import current_clinic
from imaging import ingest, services
from imaging.access import instance_access, study_access
from imaging.models import Instance, Study, Upload
from tests.clinical.clinical_helpers import clinic_files, make_patient, restrict, staff  # noqa: F401
from tests.imaging.imaging_helpers import chunk_file, shipped, synthetic_ct, upload_files

pytestmark = pytest.mark.usefixtures("clinic_files")


@pytest.fixture
def ct_study(clinic_a):
    patient = make_patient(clinic_a, given_name="Sunita", family_name="Reddy")
    study_uid, series_uid = generate_uid(), generate_uid()
    files = [
        (f"{n}.dcm", synthetic_ct(rows=64, columns=64, study_uid=study_uid, series_uid=series_uid, number=n))
        for n in (1, 2, 3)
    ]
    upload_files(clinic_a, patient, files)
    with tenant_context(clinic_a.clinic):
        study = Study.objects.get(patient=patient)
        instance = Instance.objects.filter(study=study).order_by("number").first()
    return patient, study, instance


def test_doctor_opens_the_study_list_viewer_manifest_frame_and_metadata(clinic_a, client_for, ct_study):
    patient, study, instance = ct_study
    web = client_for(clinic_a, "doctor")

    listing = web.get("/imaging/")
    assert listing.status_code == 200 and "CT CHEST PLAIN" in listing.content.decode()
    assert "CT CHEST PLAIN" in web.get(f"/patients/{patient.pk}/imaging").content.decode()
    viewer = web.get(f"/imaging/studies/{study.pk}/")
    assert viewer.status_code == 200
    page = viewer.content.decode()
    assert "data-imaging-viewer" in page and "Lung" in page and "Soft tissue" in page

    manifest = web.get(f"/imaging/studies/{study.pk}/manifest").json()
    images = manifest["series"][0]["images"]
    assert [i["number"] for i in images] == [1, 2, 3]
    assert images[0]["spacing"] == [0.7, 0.7] and images[0]["window"] == [40.0, 400.0]

    frame = web.get(f"/imaging/images/{instance.pk}/frames/0.png?wc=-600&ww=1500")
    assert frame.status_code == 200 and frame["Content-Type"] == "image/png"
    assert "no-store" in frame["Cache-Control"]
    assert Image.open(io.BytesIO(frame.content)).size == (64, 64)
    thumb = web.get(f"/imaging/images/{instance.pk}/frames/0.png?thumb=1")
    assert thumb.status_code == 200
    assert web.get(f"/imaging/images/{instance.pk}/frames/1.png").status_code == 422  # one frame only

    metadata = web.get(f"/imaging/images/{instance.pk}/metadata").json()
    names = {row["name"]: row["value"] for row in metadata["elements"]}
    assert names["Modality"] == "CT" and names["Rows"] == "64"
    assert "Pixel Data" not in names

    nurse = client_for(clinic_a, "nurse")  # a frame alone is a read of the record too
    assert nurse.get(f"/imaging/images/{instance.pk}/frames/0.png").status_code == 200
    with tenant_context(clinic_a.clinic):
        reads = RecordAccess.objects.filter(patient_id=patient.pk)
        assert reads.filter(user_id=clinic_a.users["doctor"].pk).exists()
        assert reads.filter(user_id=clinic_a.users["nurse"].pk, what="imaging image").exists()


def test_rendered_frames_are_cached_encrypted(clinic_a, ct_study, monkeypatch):
    _patient, _study, instance = ct_study
    doctor = staff(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        window = services.parse_window("40", "400")
        key = services.frame_cache_key(instance, 0, window, None)
        cache.delete(key)
        first = services.frame_png(instance=instance, actor=doctor, frame=0, window=window)
        stored = cache.get(key)
        assert isinstance(stored, bytes) and not stored.startswith(b"\x89PNG") and b"IHDR" not in stored
        assert crypto.file_subject(stored) == _patient.pk  # the patient's key: erasure shreds the cache too
        monkeypatch.setattr("imaging.services.render_dataset", lambda *a, **k: pytest.fail("rendered again"))
        assert services.frame_png(instance=instance, actor=doctor, frame=0, window=window) == first


def test_other_clinic_other_branch_and_missing_capability_get_the_same_404(clinic_a, clinic_b, client_for, ct_study):
    patient, study, instance = ct_study
    urls = [
        f"/imaging/studies/{study.pk}/",
        f"/imaging/studies/{study.pk}/manifest",
        f"/imaging/images/{instance.pk}/frames/0.png",
        f"/imaging/images/{instance.pk}/metadata",
    ]
    other_clinic = client_for(clinic_b, "owner")
    for url in urls:
        assert other_clinic.get(url).status_code == 404, url
    assert other_clinic.get(f"/patients/{patient.pk}/imaging").status_code == 404

    with tenant_context(clinic_a.clinic):
        made_at = Study.objects.get(pk=study.pk).location_id
    other_index = 1 if clinic_a.locations[0].pk == made_at else 0
    restrict(clinic_a, "doctor", other_index)
    elsewhere = client_for(clinic_a, "doctor")
    for url in urls:
        assert elsewhere.get(url).status_code == 404, url
    assert "CT CHEST PLAIN" not in elsewhere.get("/imaging/").content.decode()

    for role in ("pharmacist", "front_desk", "no_role", "accounts"):
        web = client_for(clinic_a, role)
        for url in urls:
            assert web.get(url).status_code in (403, 404), (role, url)

    pharmacist = staff(clinic_a, "pharmacist")
    with tenant_context(clinic_a.clinic):
        with pytest.raises(Http404):
            study_access(pharmacist, study.pk)
        with pytest.raises(Http404):
            instance_access(pharmacist, instance.pk)
        with pytest.raises(Http404):
            study_access(staff(clinic_a, "doctor"), "not-a-uuid")


def test_front_desk_uploads_through_http_in_chunks_and_polls_but_cannot_view(clinic_a, client_for):
    patient = make_patient(clinic_a)
    web = client_for(clinic_a, "front_desk")
    page = web.get(f"/patients/{patient.pk}/imaging/upload")
    assert page.status_code == 200 and "webkitdirectory" in page.content.decode()

    started = web.post(f"/patients/{patient.pk}/imaging/uploads", {"files": "1"})
    assert started.status_code == 201
    upload = started.json()
    data = shipped("MR_small.dcm")
    half = len(data) // 2
    for index, piece in enumerate((data[:half], data[half:])):
        response = web.post(
            upload["chunk_url"],
            {
                "file_index": 0,
                "chunk_index": index,
                "chunk_count": 2,
                "name": "mr.dcm",
                "chunk": chunk_file("c", piece),
            },
        )
        assert response.status_code == 200, response.content
    assert web.get(upload["received_url"]).json()["received"] == [[0, 0], [0, 1]]
    submitted = web.post(upload["submit_url"])
    assert submitted.status_code == 200 and submitted.json()["status"] == "queued"
    with tenant_context(clinic_a.clinic):
        ingest.upload_process(clinic=current_clinic(), upload_id=upload["id"])
    status = web.get(upload["status_url"]).json()
    assert (status["status"], status["percent"], status["stored"], status["finished"]) == ("done", 100, 1, True)
    assert status["warnings"] == 1  # MR_small.dcm names another patient than this chart
    assert web.get(upload["page_url"]).status_code == 200

    assert web.get("/imaging/").status_code == 403
    with tenant_context(clinic_a.clinic):
        study = Study.objects.get(patient=patient)
    assert web.get(f"/imaging/studies/{study.pk}/").status_code == 403


def test_upload_errors_are_sentences(clinic_a, client_for):
    patient = make_patient(clinic_a)
    web = client_for(clinic_a, "doctor")
    none = web.post(f"/patients/{patient.pk}/imaging/uploads", {"files": "0"})
    assert none.status_code == 400 and "at least one" in json.dumps(none.json())
    bad_location = web.post(f"/patients/{patient.pk}/imaging/uploads", {"files": "1", "location": "nope"})
    assert bad_location.status_code == 400
    upload = web.post(f"/patients/{patient.pk}/imaging/uploads", {"files": "1"}).json()
    missing_chunk = web.post(upload["chunk_url"], {"file_index": 0, "chunk_index": 0, "chunk_count": 1})
    assert missing_chunk.status_code == 400
    nothing = web.post(upload["submit_url"])
    assert nothing.status_code == 400 and "No file arrived" in json.dumps(nothing.json())
    other = client_for(clinic_a, "nurse")
    stolen = other.post(
        upload["chunk_url"], {"file_index": 0, "chunk_index": 0, "chunk_count": 1, "chunk": chunk_file("c", b"x")}
    )
    assert stolen.status_code == 400 and "Only the person" in json.dumps(stolen.json())
    with tenant_context(clinic_a.clinic):
        assert Upload.objects.get(pk=upload["id"]).status == Upload.Status.RECEIVING


def test_search_by_modality_dates_accession_and_description_with_empty_states(clinic_a, client_for):
    patient = make_patient(clinic_a)
    upload_files(
        clinic_a,
        patient,
        [
            ("ct.dcm", synthetic_ct(rows=16, columns=16, AccessionNumber="ACC-CT-9", StudyDate="20260105")),
            ("mr.dcm", shipped("MR_small.dcm")),
            ("us.dcm", shipped("examples_ybr_color.dcm")),
        ],
    )
    web = client_for(clinic_a, "doctor")
    base = f"/patients/{patient.pk}/imaging"

    def rows(query: str) -> int:
        response = web.get(f"{base}?{query}")
        assert response.status_code == 200
        return response.context["page"].paginator.count

    assert rows("") == 3
    assert rows("modality=US") == 1
    assert rows("modality=CT") == 1
    assert rows("accession=acc-ct-9") == 1
    assert rows("q=chest") == 1
    assert rows("from=2026-01-01&to=2026-01-31") == 1
    assert rows("from=2026-01-31&to=2026-01-01") == 1  # swapped, with a note
    assert "swapped" in web.get(f"{base}?from=2026-01-31&to=2026-01-01").content.decode()
    assert "not a date" in web.get(f"{base}?from=31-01-2026").content.decode()
    empty = web.get(f"{base}?q=brain")
    assert "No study matches this search." in empty.content.decode()
    fresh = make_patient(clinic_a)
    assert "No imaging studies for this patient yet." in web.get(f"/patients/{fresh.pk}/imaging").content.decode()


def test_the_study_list_is_paginated(clinic_a, client_for, settings):
    patient = make_patient(clinic_a)
    upload_files(clinic_a, patient, [(f"{n}.dcm", synthetic_ct(rows=8, columns=8)) for n in range(27)])
    web = client_for(clinic_a, "doctor")
    first = web.get(f"/patients/{patient.pk}/imaging")
    assert len(first.context["page"].object_list) == 25 and "Page 1 of 2" in first.content.decode()
    assert len(web.get(f"/patients/{patient.pk}/imaging?page=2").context["page"].object_list) == 2


def test_the_chart_shows_the_imaging_panel_with_count_and_upload_button(clinic_a, client_for, ct_study):
    patient, study, _instance = ct_study
    page = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="imaging-title"' in page and f"/imaging/studies/{study.pk}/" in page
    assert f"/patients/{patient.pk}/imaging/upload" in page
    assert "study of 20 Nov 2026" in page  # on the history too
    desk = client_for(clinic_a, "front_desk").get(f"/patients/{patient.pk}/").content.decode()
    assert f"/patients/{patient.pk}/imaging/upload" in desk and f"/imaging/studies/{study.pk}/" not in desk
    pharmacist = client_for(clinic_a, "pharmacist").get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="imaging-title"' not in pharmacist
