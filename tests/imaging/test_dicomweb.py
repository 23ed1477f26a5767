"""DICOMweb of a clinic with its API tokens: QIDO-RS search (studies, series, instances; filters) and
WADO-RS retrieve (the decrypted originals as multipart/related application/dicom, metadata, frames).
Another clinic's study is absent (404), another clinic's token unknown (401)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io

import pydicom
import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from imaging.models import Instance, Study
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import clinic_files, make_patient, restrict  # noqa: F401
from tests.imaging.imaging_helpers import shipped, upload_files

pytestmark = pytest.mark.usefixtures("clinic_files")
ROOT = "/dicomweb"


def _api(seeded, role: str = "doctor") -> Client:
    return Client(HTTP_HOST=seeded.host, **bearer(make_token(seeded, seeded.users[role])))


def _studies(seeded):
    """A CT (Asha Verma) and an MR (Ravi Kumar) in one clinic."""
    asha = make_patient(seeded, given_name="Asha", family_name="Verma", mrn="DW-1001")
    ravi = make_patient(seeded, given_name="Ravi", family_name="Kumar", mrn="DW-1002")
    upload_files(seeded, asha, [("CT_small.dcm", shipped("CT_small.dcm"))])
    upload_files(seeded, ravi, [("MR_small.dcm", shipped("MR_small.dcm"))])
    with tenant_context(seeded.clinic):
        ct = Study.objects.get(patient=asha)
        mr = Study.objects.get(patient=ravi)
    return ct, mr


def _values(rows, tag):
    return [row[tag]["Value"][0] for row in rows if "Value" in row.get(tag, {})]


def _parts(response) -> list[tuple[str, bytes]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    raw = f"Content-Type: {response['Content-Type']}\r\n\r\n".encode() + body
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert message.is_multipart()
    return [(part.get_content_type(), part.get_payload(decode=True)) for part in message.iter_parts()]


def test_qido_finds_studies_with_dicom_json(clinic_a):
    ct, mr = _studies(clinic_a)
    api = _api(clinic_a)

    response = api.get(f"{ROOT}/studies", HTTP_ACCEPT="application/dicom+json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom+json"
    rows = response.json()
    assert set(_values(rows, "0020000D")) == {ct.study_instance_uid, mr.study_instance_uid}
    asha = next(r for r in rows if r["0020000D"]["Value"][0] == ct.study_instance_uid)
    assert asha["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Verma^Asha"}]}
    assert asha["00100020"]["Value"] == ["DW-1001"]
    assert asha["00080061"]["Value"] == ["CT"]
    assert asha["00201208"]["Value"] == [1]
    assert asha["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{ct.study_instance_uid}")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PatientID=DW-1001", {"CT"}),
        ("00100020=DW-1002", {"MR"}),
        ("PatientName=Verma*", {"CT"}),
        ("PatientName=Kumar^Ravi", {"MR"}),
        ("ModalitiesInStudy=MR", {"MR"}),
        ("ModalitiesInStudy=CT\\MR", {"CT", "MR"}),
        ("StudyDate=20040119", {"CT"}),
        ("StudyDate=20040101-20040131", {"CT"}),
        ("StudyDate=20040201-", {"MR"}),
        ("StudyDate=19990101-19991231", set()),
    ],
)
def test_qido_study_filters(clinic_a, query, expected):
    _studies(clinic_a)

    rows = _api(clinic_a).get(f"{ROOT}/studies?{query}").json()

    assert {row["00080061"]["Value"][0] for row in rows} == expected


def test_qido_matches_study_uid_accession_and_pages_with_limit_and_offset(clinic_a):
    ct, mr = _studies(clinic_a)
    with tenant_context(clinic_a.clinic):
        Study.objects.filter(pk=ct.pk).update(accession_number="ACC-77", description="CT chest plain")
    api = _api(clinic_a)

    assert _values(api.get(f"{ROOT}/studies?StudyInstanceUID={mr.study_instance_uid}").json(), "0020000D") == [
        mr.study_instance_uid
    ]
    assert _values(api.get(f"{ROOT}/studies?AccessionNumber=ACC-77").json(), "00080050") == ["ACC-77"]
    assert len(api.get(f"{ROOT}/studies?StudyDescription=*chest*").json()) == 1
    first = api.get(f"{ROOT}/studies?limit=1").json()
    second = api.get(f"{ROOT}/studies?limit=1&offset=1").json()
    assert len(first) == len(second) == 1 and first != second
    assert api.get(f"{ROOT}/studies?offset=5").json() == []


def test_qido_refuses_what_it_cannot_match_with_a_400(clinic_a):
    api = _api(clinic_a)
    assert api.get(f"{ROOT}/studies?StudyDate=yesterday").status_code == 400
    assert api.get(f"{ROOT}/studies?PatientComments=x").status_code == 400
    assert api.get(f"{ROOT}/studies?limit=none").status_code == 400


def test_qido_series_and_instances_of_a_study(clinic_a):
    ct, _ = _studies(clinic_a)
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.select_related("series").get(study=ct)
    api = _api(clinic_a)

    series = api.get(f"{ROOT}/studies/{ct.study_instance_uid}/series").json()
    instances = api.get(
        f"{ROOT}/studies/{ct.study_instance_uid}/series/{instance.series.series_instance_uid}/instances"
    ).json()
    all_ct_series = api.get(f"{ROOT}/series?Modality=CT").json()
    mr_instances = api.get(f"{ROOT}/instances?ModalitiesInStudy=MR").json()

    assert _values(series, "0020000E") == [instance.series.series_instance_uid]
    assert _values(series, "00080060") == ["CT"]
    assert _values(instances, "00080018") == [instance.sop_instance_uid]
    assert _values(instances, "00280010") == [128]
    assert _values(all_ct_series, "0020000D") == [ct.study_instance_uid]
    assert _values(mr_instances, "00080060") == ["MR"]


def test_wado_returns_the_decrypted_original_as_multipart_dicom(clinic_a):
    ct, _ = _studies(clinic_a)

    response = _api(clinic_a).get(
        f"{ROOT}/studies/{ct.study_instance_uid}", HTTP_ACCEPT='multipart/related; type="application/dicom"'
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith('multipart/related; type="application/dicom"; boundary=')
    parts = _parts(response)
    assert [kind for kind, _ in parts] == ["application/dicom"]
    assert parts[0][1] == shipped("CT_small.dcm")  # byte for byte the uploaded file


def test_wado_metadata_and_frames(clinic_a):
    ct, _ = _studies(clinic_a)
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.select_related("series").get(study=ct)
    base = f"{ROOT}/studies/{ct.study_instance_uid}/series/{instance.series.series_instance_uid}"
    api = _api(clinic_a)

    metadata = api.get(f"{ROOT}/studies/{ct.study_instance_uid}/metadata").json()
    frames = api.get(
        f"{base}/instances/{instance.sop_instance_uid}/frames/1",
        HTTP_ACCEPT='multipart/related; type="application/octet-stream"; transfer-syntax=*',
    )

    assert len(metadata) == 1
    assert metadata[0]["00080018"]["Value"] == [instance.sop_instance_uid]
    assert metadata[0]["00280010"]["Value"] == [128]
    assert "7FE00010" not in metadata[0] or "InlineBinary" not in metadata[0]["7FE00010"]
    assert frames.status_code == 200
    (kind, data), *_ = _parts(frames)
    assert kind == "application/octet-stream"
    original = pydicom.dcmread(io.BytesIO(shipped("CT_small.dcm")))
    assert data == original.PixelData
    assert api.get(f"{base}/instances/{instance.sop_instance_uid}/frames/2").status_code == 404


def test_wado_answers_406_for_a_media_type_it_does_not_produce(clinic_a):
    ct, _ = _studies(clinic_a)
    response = _api(clinic_a).get(
        f"{ROOT}/studies/{ct.study_instance_uid}", HTTP_ACCEPT='multipart/related; type="image/jpeg"'
    )
    assert response.status_code == 406


def test_another_clinics_study_is_a_404_and_its_token_is_unknown_here(clinic_a, clinic_b):
    ct, _ = _studies(clinic_a)
    other_api = _api(clinic_b)

    assert other_api.get(f"{ROOT}/studies/{ct.study_instance_uid}").status_code == 404
    assert other_api.get(f"{ROOT}/studies/{ct.study_instance_uid}/metadata").status_code == 404
    assert other_api.get(f"{ROOT}/studies/{ct.study_instance_uid}/series").status_code == 404
    assert other_api.get(f"{ROOT}/studies?PatientID=DW-1001").json() == []
    token_b = make_token(clinic_b, clinic_b.users["doctor"])
    on_a_host = Client(HTTP_HOST=clinic_a.host, **bearer(token_b))
    assert on_a_host.get(f"{ROOT}/studies").status_code == 401


def test_dicomweb_needs_a_token_and_imaging_view(clinic_a):
    ct, _ = _studies(clinic_a)

    assert Client(HTTP_HOST=clinic_a.host).get(f"{ROOT}/studies").status_code in (401, 403)
    assert _api(clinic_a, "front_desk").get(f"{ROOT}/studies").status_code == 403
    assert _api(clinic_a, "accounts").get(f"{ROOT}/studies/{ct.study_instance_uid}").status_code == 403


def test_a_user_restricted_to_another_branch_does_not_find_the_study(clinic_a):
    ct, _ = _studies(clinic_a)  # made at the first location
    user = restrict(clinic_a, "doctor", 1)
    api = Client(HTTP_HOST=clinic_a.host, **bearer(make_token(clinic_a, user)))

    assert api.get(f"{ROOT}/studies").json() == []
    assert api.get(f"{ROOT}/studies/{ct.study_instance_uid}").status_code == 404


def test_cors_only_for_configured_origins(clinic_a, settings):
    settings.DICOMWEB_CORS_ORIGINS = ["https://viewer.example.in"]
    api = _api(clinic_a)

    preflight = Client(HTTP_HOST=clinic_a.host).options(
        f"{ROOT}/studies", HTTP_ORIGIN="https://viewer.example.in", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    allowed = api.get(f"{ROOT}/studies", HTTP_ORIGIN="https://viewer.example.in")
    other = api.get(f"{ROOT}/studies", HTTP_ORIGIN="https://evil.example.com")

    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Headers"] == "Authorization, Accept"
    assert allowed["Access-Control-Allow-Origin"] == "https://viewer.example.in"
    assert "Access-Control-Allow-Origin" not in other


def test_dates_are_dicom_dates(clinic_a):
    ct, _ = _studies(clinic_a)
    row = _api(clinic_a).get(f"{ROOT}/studies?StudyInstanceUID={ct.study_instance_uid}").json()[0]
    assert row["00080020"]["Value"] == [dt.date(2004, 1, 19).strftime("%Y%m%d")]


def test_frames_are_served_when_one_of_several_offered_types_fits(clinic_a):
    ct, _ = _studies(clinic_a)
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.select_related("series").get(study=ct)
    url = (
        f"{ROOT}/studies/{ct.study_instance_uid}/series/{instance.series.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}/frames/1"
    )
    accept = (
        'multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.80, '
        "multipart/related; type=application/octet-stream; transfer-syntax=*"
    )

    assert _api(clinic_a).get(url, HTTP_ACCEPT=accept).status_code == 200
    assert _api(clinic_a).get(url, HTTP_ACCEPT='multipart/related; type="image/jls"').status_code == 406
