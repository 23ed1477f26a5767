"""File contents under a clinic's data key, and crypto-shredding by destroying that key."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from docos import crypto, storage

SCAN = b"%PDF-1.7 discharge summary for patient MRN-0042"
IN_MEMORY_FILES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}


def _fresh(seeded) -> Clinic:
    # Never mutate the session-wide seeded Clinic object: destroying its key would leak into other tests.
    return Clinic.objects.get(pk=seeded.clinic.pk)


def test_file_round_trips_and_ciphertext_hides_the_contents(clinic_a):
    clinic = _fresh(clinic_a)
    blob = crypto.encrypt_file(clinic, SCAN, "documents/summary.pdf")
    assert b"MRN-0042" not in blob and b"%PDF" not in blob
    assert crypto.decrypt_file(clinic, blob, "documents/summary.pdf") == SCAN


def test_file_ciphertext_is_bound_to_its_object_name_and_clinic(clinic_a, clinic_b):
    blob = crypto.encrypt_file(_fresh(clinic_a), SCAN, "documents/summary.pdf")
    with pytest.raises(crypto.DecryptionError, match="another object or clinic"):
        crypto.decrypt_file(_fresh(clinic_a), blob, "documents/other.pdf")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_file(_fresh(clinic_b), blob, "documents/summary.pdf")


def test_destroying_the_data_key_makes_files_unreadable(clinic_a):
    clinic = _fresh(clinic_a)
    blob = crypto.encrypt_file(clinic, SCAN, "documents/summary.pdf")

    clinic_destroy_data_key(clinic=clinic)

    with pytest.raises(crypto.CryptoError, match="destroyed"):
        crypto.decrypt_file(clinic, blob, "documents/summary.pdf")
    reloaded = _fresh(clinic_a)
    assert reloaded.wrapped_data_key is None and reloaded.data_key_destroyed_at is not None
    with pytest.raises(crypto.CryptoError, match="destroyed"):
        crypto.decrypt_file(reloaded, blob, "documents/summary.pdf")
    with pytest.raises(crypto.CryptoError, match="destroyed"):
        crypto.encrypt_file(reloaded, b"new upload", "documents/new.pdf")


def test_truncated_or_foreign_bytes_are_refused(clinic_a):
    clinic = _fresh(clinic_a)
    with pytest.raises(crypto.DecryptionError, match="Not a DocOS file"):
        crypto.decrypt_file(clinic, b"DOCF1short", "x")
    with pytest.raises(crypto.DecryptionError, match="Not a DocOS file"):
        crypto.decrypt_file(clinic, SCAN * 2, "x")


@override_settings(STORAGES=IN_MEMORY_FILES)
def test_helpers_read_and_write_the_encrypted_storage_format(clinic_a):
    clinic = _fresh(clinic_a)
    stored = storage.store_encrypted(clinic, data=SCAN, folder="documents", suffix=".pdf")
    with storage.file_storage().open(stored.name, "rb") as handle:
        assert crypto.decrypt_file(clinic, handle.read(), stored.name) == SCAN

    name = f"{clinic.schema_name}/documents/by-helper.enc"
    storage.file_storage().save(name, ContentFile(crypto.encrypt_file(clinic, SCAN, name)))
    assert storage.read_verified(clinic, name=name, sha256=hashlib.sha256(SCAN).hexdigest()) == SCAN
