"""Encrypted file storage for clinic files (uploads, signed PDFs, imports).

Files are encrypted with the clinic's data key, or a patient's own key for files about one patient
(AES-256-GCM, AAD = schema + storage name; the format and key handling live in docos.crypto) before
they reach the storage backend, so neither the local folder nor the S3 bucket ever holds plaintext;
destroying the clinic's data key makes every file unreadable, destroying a patient's key (erasure)
makes theirs unreadable (crypto-shredding).

The backend is Django's storage API: `FileSystemStorage` under var/files by default, or
django-storages' S3 backend (Cloudflare R2 or any S3-compatible store) when DOCOS_S3_BUCKET is set.

Reading goes through one function, `read_verified`: it decrypts and checks the plaintext against
the SHA-256 recorded when the file was stored (on the owning row), so a stored object that was
overwritten with another valid ciphertext under the same name, or a row pointed at another row's
file, is refused like tampered bytes are. It raises `FileUnavailable` (a CryptoError) with a
message a person can act on: the clinic's key was destroyed, the object is missing, or (as
`FileAltered`) it is not the file that was stored.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from docos import crypto
from docos.crypto import CryptoError, FileOwner

CHUNK_BYTES = 64 * 1024  # downloads stream the decrypted bytes in pieces of this size


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str  # of the plaintext
    size: int  # plaintext bytes


class FileUnavailable(CryptoError):
    """A stored file cannot be given back. `reason` is "key_destroyed", "missing" or "altered"."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


ALTERED_MESSAGE = (
    "The stored file failed its integrity check: it is not the file that was stored (it was altered or "
    "replaced), so it was not opened."
)


class FileAltered(FileUnavailable):
    """The stored object is not the file that was recorded. `check` says which check caught it:
    "ciphertext" (the bytes failed authentication: altered, or bound to another object or clinic)
    or "checksum" (a valid ciphertext whose plaintext is not the recorded SHA-256: re-encrypted
    under the same name, or the row points at another row's file)."""

    def __init__(self, *, check: str) -> None:
        super().__init__(ALTERED_MESSAGE, reason="altered")
        self.check = check


def file_storage() -> Storage:
    return storages["clinic_files"]


def store_encrypted(
    clinic: FileOwner, *, data: bytes, folder: str, suffix: str = "", subject: uuid.UUID | None = None
) -> StoredFile:
    """Encrypt and save; returns the storage name to keep on the owning row. A file about one
    person passes their id as `subject` (a patient's pk): it is then encrypted with their own key,
    which erasing them destroys."""
    name = f"{clinic.schema_name}/{folder}/{uuid.uuid4().hex}{suffix}.enc"
    blob = crypto.encrypt_file(clinic, data, name, subject=subject)
    saved = file_storage().save(name, ContentFile(blob))
    if saved != name:  # a backend renaming the object would break the AAD binding
        file_storage().delete(saved)
        raise CryptoError(f"Storage renamed {name!r} to {saved!r}; refusing to keep an unbindable file.")
    return StoredFile(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def store_encrypted_as(clinic: FileOwner, *, name: str, data: bytes, subject: uuid.UUID | None = None) -> StoredFile:
    """Encrypt and save under a given name in the clinic's prefix (a restore keeps the exported paths).
    Refuses a name that is taken: a stored object is never overwritten."""
    if not name.startswith(f"{clinic.schema_name}/") or ".." in name.split("/"):
        raise CryptoError(f"{name!r} is outside the clinic's storage prefix.")
    if file_storage().exists(name):
        raise CryptoError(f"{name!r} exists already; refusing to overwrite a stored file.")
    blob = crypto.encrypt_file(clinic, data, name, subject=subject)
    saved = file_storage().save(name, ContentFile(blob))
    if saved != name:
        file_storage().delete(saved)
        raise CryptoError(f"Storage renamed {name!r} to {saved!r}; refusing to keep an unbindable file.")
    return StoredFile(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def read_raw(name: str) -> bytes:
    """The ciphertext exactly as the backend holds it (for checks and tests; never serve this)."""
    with file_storage().open(name, "rb") as handle:
        return bytes(handle.read())


def read_verified(clinic: FileOwner, *, name: str, sha256: str) -> bytes:
    """The plaintext of stored file `name`, if its SHA-256 is `sha256` (the hash recorded with it).

    The only way to read a stored file back. Raises FileAltered when the bytes fail authentication
    or the plaintext's hash differs, FileUnavailable when the clinic's key was destroyed or the
    object is missing."""
    data = _read_decrypted(clinic, name)
    if not sha256 or not hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha256.lower()):
        raise FileAltered(check="checksum")
    return data


def _read_decrypted(clinic: FileOwner, name: str) -> bytes:
    """The plaintext of a stored file, unchecked against its recorded hash: use `read_verified`."""
    if clinic.wrapped_data_key is None:
        when = f" on {clinic.data_key_destroyed_at:%d %b %Y}" if clinic.data_key_destroyed_at else ""
        raise FileUnavailable(
            f"This clinic's encryption key was destroyed{when}, so its stored files were permanently erased "
            "and can no longer be opened.",
            reason="key_destroyed",
        )
    try:
        blob = read_raw(name)
    except (FileNotFoundError, OSError):
        raise FileUnavailable("The stored file is missing from the clinic's file storage.", reason="missing") from None
    try:
        return crypto.decrypt_file(clinic, blob, name)
    except crypto.SubjectKeyDestroyedError as exc:
        raise FileUnavailable(str(exc), reason="key_destroyed") from None
    except crypto.DecryptionError:
        raise FileAltered(check="ciphertext") from None


def iter_chunks(data: bytes, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """`data` in pieces, for StreamingHttpResponse."""
    view = memoryview(data)
    for start in range(0, len(view), chunk_bytes):
        yield bytes(view[start : start + chunk_bytes])


def delete_stored(name: str) -> None:
    file_storage().delete(name)
