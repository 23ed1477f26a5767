"""Encrypted clinic files on an S3-compatible bucket (the production path, Cloudflare R2).

The bucket is a real S3 API: moto's server on a free local port, started by these tests; nothing
in boto3 or django-storages is patched. The settings point STORAGES["clinic_files"] at
django-storages' S3 backend with that endpoint, exactly as DOCOS_S3_* would in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from docos import storage
from tests.clinical.clinical_helpers import make_patient, staff
from tests.documents.documents_helpers import PDF_BYTES, jpeg_bytes

CREDENTIALS = {"aws_access_key_id": "docos-test", "aws_secret_access_key": "docos-test-secret"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings) -> Iterator[tuple[object, str]]:
    """A fresh bucket, and the clinic-files storage pointed at it through django-storages."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **CREDENTIALS)
    name = f"docos-files-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "clinic_files": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "region_name": REGION,
                "addressing_style": "path",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    yield client, name


def _fresh(seeded) -> Clinic:
    return Clinic.objects.get(pk=seeded.clinic.pk)


def test_s3_backend_round_trips_a_file_and_the_bucket_holds_only_ciphertext(clinic_a, bucket):
    client, name = bucket
    assert type(storage.file_storage()).__name__ == "S3Storage"
    clinic = _fresh(clinic_a)

    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents", suffix=".pdf")

    keys = [item["Key"] for item in client.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == [stored.name]
    assert stored.name.startswith(f"{clinic.schema_name}/documents/") and stored.name.endswith(".pdf.enc")
    raw = client.get_object(Bucket=name, Key=stored.name)["Body"].read()
    assert raw.startswith(b"DOCF1")
    assert b"%PDF" not in raw and b"/Catalog" not in raw
    assert len(raw) == len(PDF_BYTES) + 5 + 12 + 16  # format tag + nonce + GCM tag
    assert storage.read_verified(clinic, name=stored.name, sha256=stored.sha256) == PDF_BYTES


def test_s3_object_changed_in_the_bucket_is_refused(clinic_a, bucket):
    client, name = bucket
    clinic = _fresh(clinic_a)
    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents", suffix=".pdf")
    raw = bytearray(client.get_object(Bucket=name, Key=stored.name)["Body"].read())
    raw[-1] ^= 0x01
    client.put_object(Bucket=name, Key=stored.name, Body=bytes(raw))

    with pytest.raises(storage.FileUnavailable, match="integrity check") as caught:
        storage.read_verified(clinic, name=stored.name, sha256=stored.sha256)
    assert caught.value.reason == "altered"


def test_s3_missing_object_is_reported_as_missing(clinic_a, bucket):
    with pytest.raises(storage.FileUnavailable, match="missing") as caught:
        storage.read_verified(
            _fresh(clinic_a), name=f"{clinic_a.schema}/documents/nothing-here.pdf.enc", sha256="0" * 64
        )
    assert caught.value.reason == "missing"


def test_upload_and_download_through_the_site_with_the_s3_backend(clinic_a, bucket, client_for, in_tenant):
    client, name = bucket
    patient = make_patient(clinic_a)
    staff(clinic_a, "doctor")
    from django.core.files.uploadedfile import SimpleUploadedFile

    web = client_for(clinic_a, "doctor")
    upload = SimpleUploadedFile("wound.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = web.post(
        f"/patients/{patient.pk}/documents/upload", {"file": upload, "title": "Wound photo", "category": "image"}
    )
    assert response.status_code == 302, response.content[:500]
    with in_tenant(clinic_a):
        from documents.models import PatientDocument

        document = PatientDocument.objects.get(patient=patient)
    raw = client.get_object(Bucket=name, Key=document.storage_name)["Body"].read()
    assert b"JFIF" not in raw and not raw.startswith(b"\xff\xd8")

    download = web.get(f"/documents/{document.pk}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == jpeg_bytes()


def test_destroyed_key_makes_s3_files_unreadable(clinic_a, bucket):
    clinic = _fresh(clinic_a)
    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents", suffix=".pdf")
    clinic_destroy_data_key(clinic=clinic)
    with pytest.raises(storage.FileUnavailable, match="encryption key was destroyed") as caught:
        storage.read_verified(_fresh(clinic_a), name=stored.name, sha256=stored.sha256)
    assert caught.value.reason == "key_destroyed"
