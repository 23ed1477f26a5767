"""Encrypted file storage for clinic files (uploads, signed PDFs, imports).

Files are encrypted with the clinic's data key (AES-256-GCM, AAD = schema + storage name) before
they reach the storage backend, so neither the local folder nor the S3 bucket ever holds
plaintext, and destroying the clinic's data key makes every file unreadable (crypto-shredding).

The backend is Django's storage API: `FileSystemStorage` under var/files by default, or
django-storages' S3 backend (Cloudflare R2 or any S3-compatible store) when DOCOS_S3_BUCKET is set.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from clinics.models import Clinic
from docos.crypto import CryptoError, decrypt_file, encrypt_file


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str  # of the plaintext
    size: int  # plaintext bytes


def file_storage() -> Storage:
    return storages["clinic_files"]


def store_encrypted(clinic: Clinic, *, data: bytes, folder: str, suffix: str = "") -> StoredFile:
    """Encrypt and save; returns the storage name to keep on the owning row."""
    name = f"{clinic.schema_name}/{folder}/{uuid.uuid4().hex}{suffix}.enc"
    blob = encrypt_file(clinic, data, name)
    saved = file_storage().save(name, ContentFile(blob))
    if saved != name:  # a backend renaming the object would break the AAD binding
        file_storage().delete(saved)
        raise CryptoError(f"Storage renamed {name!r} to {saved!r}; refusing to keep an unbindable file.")
    return StoredFile(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def read_decrypted(clinic: Clinic, name: str) -> bytes:
    with file_storage().open(name, "rb") as handle:
        blob = handle.read()
    return decrypt_file(clinic, blob, name)


def delete_stored(name: str) -> None:
    file_storage().delete(name)
