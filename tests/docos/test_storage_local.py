"""Encrypted clinic files on the default backend (a local folder): ciphertext on disk, clear errors."""

from __future__ import annotations

import pytest

from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from docos import storage
from tests.documents.documents_helpers import PDF_BYTES


@pytest.fixture
def local_files(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "clinic_files": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path


def _fresh(seeded) -> Clinic:
    return Clinic.objects.get(pk=seeded.clinic.pk)


def test_the_file_on_disk_is_ciphertext_bound_to_its_name(clinic_a, clinic_b, local_files):
    clinic = _fresh(clinic_a)
    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents", suffix=".pdf")
    on_disk = (local_files / stored.name).read_bytes()
    assert on_disk.startswith(b"DOCF1") and b"%PDF" not in on_disk and b"Catalog" not in on_disk
    assert storage.read_verified(clinic, name=stored.name, sha256=stored.sha256) == PDF_BYTES
    assert stored.size == len(PDF_BYTES)

    # Copied under another name, or read as another clinic's file, it does not decrypt.
    copy = f"{clinic.schema_name}/documents/copy.pdf.enc"
    (local_files / copy).write_bytes(on_disk)
    with pytest.raises(storage.FileUnavailable, match="integrity check"):
        storage.read_verified(clinic, name=copy, sha256=stored.sha256)
    with pytest.raises(storage.FileUnavailable, match="integrity check"):
        storage.read_verified(_fresh(clinic_b), name=stored.name, sha256=stored.sha256)


def test_missing_file_and_destroyed_key_say_why(clinic_a, local_files):
    clinic = _fresh(clinic_a)
    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents")
    (local_files / stored.name).unlink()
    with pytest.raises(storage.FileUnavailable, match="missing") as caught:
        storage.read_verified(clinic, name=stored.name, sha256=stored.sha256)
    assert caught.value.reason == "missing"

    stored = storage.store_encrypted(clinic, data=PDF_BYTES, folder="documents")
    clinic_destroy_data_key(clinic=clinic)
    with pytest.raises(storage.FileUnavailable, match="encryption key was destroyed on") as caught:
        storage.read_verified(_fresh(clinic_a), name=stored.name, sha256=stored.sha256)
    assert caught.value.reason == "key_destroyed"
    assert isinstance(caught.value, storage.CryptoError)


def test_iter_chunks_splits_and_rejoins():
    data = bytes(range(256)) * 1000
    chunks = list(storage.iter_chunks(data, 1000))
    assert len(chunks) == 256 and all(len(chunk) == 1000 for chunk in chunks)
    assert b"".join(chunks) == data
    assert list(storage.iter_chunks(b"")) == []
