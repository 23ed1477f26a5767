"""AES-256-GCM with a key ring, and per-clinic data keys for files and clinical fields.

Field ciphertexts come in two layouts (bytes), told apart by the first byte:
- under the key ring: version 1 | key-id length (1) | key id (ascii) | nonce (12) | ciphertext+tag;
- under the data key of the clinic whose schema holds the row: version 2 | nonce (12) | ciphertext+tag.
Either way the associated data names what the ciphertext belongs to (schema, table, column, row),
so a value copied to another row, column or clinic fails authentication instead of decrypting.
Fields declare which key they use (`clinic_key=True` in docos.fields); decryption follows the layout.

Files are encrypted with the clinic's own data key (wrapped by the key ring, see `wrap_data_key`):
b"DOCF1" | nonce (12) | ciphertext+tag, with associated data naming the clinic schema and the
object (the layout docos.storage writes). Destroying the wrapped data key (crypto-shredding) makes
every file of the clinic unreadable; rotating the key ring only re-wraps the data key, so file
ciphertexts never need rewriting. The same holds for field values under a clinic's data key.

A file about one person (a patient's documents, scans, signed PDFs) is encrypted with that
subject's own key instead: b"DOCF2" | subject (16, a UUID) | nonce (12) | ciphertext+tag. The
subject key is random, wrapped by the clinic's data key and kept by the app that owns the subject
(`register_subject_key_store`); erasing the person destroys it, so every copy of their files, in
object storage, its versions and backups, is unreadable while the clinic's other files are not.

Other purposes that need a secret (the audit chain's MACs) never use a ring key directly: they
get a key derived from each ring key with HKDF-SHA256 and a purpose label (`derived_keys`), so
rotating the ring rotates them too, and the same key id names the key in both places.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection


class FileOwner(Protocol):
    """What the kernel needs of a clinic to encrypt its files (clinics.Clinic is one)."""

    @property
    def schema_name(self) -> str: ...

    @property
    def wrapped_data_key(self) -> Any: ...

    @property
    def data_key_destroyed_at(self) -> Any: ...


# The clinic's data key comes from the app that owns clinics (registered in its AppConfig.ready),
# so this kernel module imports no domain app.
_data_key_provider: Callable[[Any], bytes] | None = None


def register_data_key_provider(provider: Callable[[Any], bytes]) -> None:
    global _data_key_provider
    _data_key_provider = provider


def clinic_data_key(clinic: FileOwner) -> bytes:
    if _data_key_provider is None:
        raise CryptoError("No clinic data-key provider is registered (is the clinics app installed?).")
    return _data_key_provider(clinic)


FORMAT_VERSION = 1
CLINIC_FORMAT_VERSION = 2  # a field ciphertext under the data key of the clinic that owns the schema
CLINIC_FIELD_PREFIX = bytes((CLINIC_FORMAT_VERSION,))
FILE_FORMAT = b"DOCF1"  # a file ciphertext under a clinic data key (never a field ciphertext)
SUBJECT_FILE_FORMAT = b"DOCF2"  # a file ciphertext under one subject's (a patient's) key
SUBJECT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_KID_LENGTH = 32


class CryptoError(Exception):
    """Base class: something about a ciphertext or the key ring is wrong."""


class KeyRingError(CryptoError):
    """The configured key ring is missing or malformed."""


class UnknownKeyError(CryptoError):
    """The ciphertext names a key id that is not in the key ring."""


class DecryptionError(CryptoError):
    """Authentication failed: wrong key, tampered bytes, or the ciphertext belongs elsewhere (AAD mismatch)."""


class DataKeyUnavailableError(CryptoError):
    """A clinic's data key is needed but there is none: it was destroyed (crypto-shredding), or no
    clinic owns the schema (the public or template schema)."""


class SubjectKeyDestroyedError(DataKeyUnavailableError):
    """The file belongs to a subject (a patient) whose key was destroyed when they were erased."""


@dataclass(frozen=True)
class KeyRing:
    primary_kid: str
    keys: dict[str, AESGCM]
    # The bytes every ciphertext made with the primary key starts with (used to find stale rows in SQL).
    primary_prefix: bytes = field(init=False, repr=False)
    _primary: AESGCM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "primary_prefix", key_prefix(self.primary_kid))
        object.__setattr__(self, "_primary", self.keys[self.primary_kid])

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return b"".join((self.primary_prefix, nonce, self._primary.encrypt(nonce, plaintext, aad)))

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if blob.startswith(self.primary_prefix):  # the common case: skip parsing the key id
            cipher, start = self._primary, len(self.primary_prefix)
            if len(blob) < start + NONCE_BYTES + TAG_BYTES:
                raise DecryptionError("Not a DocOS ciphertext (unknown format version or truncated).")
        else:
            kid = key_id_of(blob)
            found = self.keys.get(kid)
            if found is None:
                raise UnknownKeyError(f"Ciphertext was made with key id {kid!r}, which is not in the key ring.")
            cipher, start = found, 2 + len(kid)
        try:
            return cipher.decrypt(blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :], aad)
        except InvalidTag:
            raise DecryptionError(
                "Ciphertext failed authentication: it was altered or belongs to another row, column or clinic."
            ) from None

    def needs_rotation(self, blob: bytes) -> bool:
        return not bytes(blob).startswith(self.primary_prefix)

    def reencrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt with whichever key made `blob` and encrypt again with the primary key."""
        return self.encrypt(self.decrypt(blob, aad), aad)


def key_prefix(kid: str) -> bytes:
    raw = kid.encode("ascii")
    return bytes((FORMAT_VERSION, len(raw))) + raw


def key_id_of(blob: bytes) -> str:
    """The key-ring key id a field ciphertext names (clinic-key ciphertexts name none: DecryptionError)."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("Not a DocOS ciphertext (unknown format version or truncated).")
    kid_len = blob[1]
    if kid_len == 0 or len(blob) < 2 + kid_len + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Not a DocOS ciphertext (unknown format version or truncated).")
    return blob[2 : 2 + kid_len].decode("ascii", errors="replace")


def _valid_kid(kid: str) -> bool:
    return (
        bool(kid) and kid.isascii() and len(kid) <= MAX_KID_LENGTH and kid.replace("-", "").replace("_", "").isalnum()
    )


def parse_key_ring(spec: str) -> KeyRing:
    """Parse "kid:base64key[,kid:base64key...]"; the first key encrypts, all keys decrypt."""
    entries = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not entries:
        raise KeyRingError("DOCOS_ENCRYPTION_KEYS is empty; set it to 'kid:base64-of-32-random-bytes'.")
    keys: dict[str, AESGCM] = {}
    for entry in entries:
        kid, sep, b64 = entry.partition(":")
        kid = kid.strip()
        if not sep or not _valid_kid(kid):
            raise KeyRingError(
                f"Key ring entry {kid[:MAX_KID_LENGTH]!r} must look like 'kid:base64key' with a short ASCII kid "
                "(letters, digits, '-' and '_')."
            )
        try:
            raw = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyRingError(f"Key {kid!r} is not valid base64.") from None
        if len(raw) != 32:
            raise KeyRingError(f"Key {kid!r} is {len(raw)} bytes; AES-256 needs exactly 32.")
        if kid in keys:
            raise KeyRingError(f"Key id {kid!r} appears twice in the key ring.")
        keys[kid] = AESGCM(raw)
    return KeyRing(primary_kid=entries[0].partition(":")[0].strip(), keys=keys)


def key_ring_material(spec: str) -> dict[str, bytes]:
    """The raw key bytes by key id (for configuration checks; never log them)."""
    parse_key_ring(spec)  # validates
    return {
        kid.strip(): base64.b64decode(b64.strip())
        for kid, _, b64 in (part.strip().partition(":") for part in spec.split(",") if part.strip())
    }


def generate_key_spec(kid: str) -> str:
    """A fresh 'kid:base64key' entry, e.g. for `DOCOS_ENCRYPTION_KEYS` during a rotation."""
    if not _valid_kid(kid):
        raise KeyRingError(f"Key id {kid!r} must be 1-{MAX_KID_LENGTH} ASCII letters, digits, '-' or '_'.")
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode('ascii')}"


@lru_cache(maxsize=4)
def _ring_for(spec: str) -> KeyRing:
    return parse_key_ring(spec)


# The last (spec, ring) pair: an identity check on the settings string is the whole cost of
# `key_ring()` on the hot path; a changed setting (override_settings, reload) misses and re-parses.
_last: tuple[str, KeyRing] | None = None


def key_ring() -> KeyRing:
    global _last
    spec = settings.DOCOS_ENCRYPTION_KEYS
    last = _last
    if last is not None and last[0] is spec:
        return last[1]
    ring = _ring_for(spec)
    _last = (spec, ring)
    return ring


@dataclass(frozen=True)
class DerivedKeys:
    """One purpose's keys, derived from every key of the ring; `primary_kid` is the ring's primary."""

    info: bytes
    primary_kid: str
    keys: Mapping[str, bytes] = field(repr=False)

    @property
    def primary(self) -> bytes:
        return self.keys[self.primary_kid]

    def key(self, kid: str) -> bytes:
        found = self.keys.get(kid)
        if found is None:
            raise UnknownKeyError(
                f"Key id {kid!r} is not in the key ring (DOCOS_ENCRYPTION_KEYS); "
                "put that key back in the ring, after the primary key."
            )
        return found


def derive_key(ring_key: bytes, info: bytes) -> bytes:
    """A 32-byte key for the purpose `info`, from one ring key (HKDF-SHA256, no salt: ring keys are random)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ring_key)


@lru_cache(maxsize=16)
def _derived_for(spec: str, info: bytes) -> DerivedKeys:
    material = key_ring_material(spec)
    return DerivedKeys(
        info=info,
        primary_kid=_ring_for(spec).primary_kid,
        keys={kid: derive_key(raw, info) for kid, raw in material.items()},
    )


def derived_keys(info: bytes) -> DerivedKeys:
    """The keys for purpose `info` (e.g. b"docos-audit-chain-v1"), one per key id of the current ring.

    Never the ring keys themselves: a derived key is useless for decrypting fields or files, and
    a different `info` gives unrelated keys."""
    if not info:
        raise ValueError("A derived key needs a purpose label.")
    return _derived_for(settings.DOCOS_ENCRYPTION_KEYS, info)


def field_aad(schema: str, table: str, column: str, pk: object) -> bytes:
    return f"docos:v1|{schema}|{table}|{column}|{pk}".encode()


def encrypt_value(plaintext: bytes, aad: bytes) -> bytes:
    return key_ring().encrypt(plaintext, aad)


def decrypt_value(blob: bytes, aad: bytes) -> bytes:
    return key_ring().decrypt(bytes(blob), aad)


# --- per-clinic data keys (for files and clinic-keyed fields), wrapped by the master key ring ---------


def data_key_aad(schema_name: str) -> bytes:
    return f"docos:v1|data-key|{schema_name}".encode()


def wrap_data_key(schema_name: str, data_key: bytes) -> bytes:
    return encrypt_value(data_key, data_key_aad(schema_name))


def unwrap_data_key(schema_name: str, wrapped: bytes) -> bytes:
    return decrypt_value(wrapped, data_key_aad(schema_name))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


# --- file contents, under a clinic's data key ------------------------------------------------------


def file_aad(schema_name: str, object_name: str) -> bytes:
    if not object_name:
        raise ValueError("A file ciphertext needs an object name to bind it to.")
    return f"docos:file:v1|{schema_name}|{object_name}".encode()


def encrypt_with_data_key(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FILE_FORMAT + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def decrypt_with_data_key(data_key: bytes, blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    start = len(FILE_FORMAT)
    if len(blob) < start + NONCE_BYTES + TAG_BYTES or not blob.startswith(FILE_FORMAT):
        raise DecryptionError("Not a DocOS file ciphertext (unknown format or truncated).")
    nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(data_key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError(
            "File ciphertext failed authentication: it was altered, or belongs to another object or clinic."
        ) from None


def encrypt_file(clinic: FileOwner, plaintext: bytes, object_name: str, *, subject: uuid.UUID | None = None) -> bytes:
    """Encrypt file contents with `clinic`'s data key, or with `subject`'s own key (created on first
    use), bound to the clinic schema, `object_name` and the subject."""
    aad = file_aad(clinic.schema_name, object_name)
    if subject is None:
        return encrypt_with_data_key(clinic_data_key(clinic), plaintext, aad)
    sealed = encrypt_with_data_key(subject_key(clinic, subject, create=True), plaintext, _subject_aad(aad, subject))
    return SUBJECT_FILE_FORMAT + subject.bytes + sealed[len(FILE_FORMAT) :]


def decrypt_file(clinic: FileOwner, blob: bytes, object_name: str) -> bytes:
    """Decrypt what `encrypt_file` made. Raises CryptoError once the clinic's data key (or the file's
    subject key: SubjectKeyDestroyedError) was destroyed, DecryptionError if the bytes were altered or
    belong to another object, subject or clinic."""
    blob = bytes(blob)
    aad = file_aad(clinic.schema_name, object_name)
    if not blob.startswith(SUBJECT_FILE_FORMAT):
        return decrypt_with_data_key(clinic_data_key(clinic), blob, aad)
    start = len(SUBJECT_FILE_FORMAT)
    if len(blob) < start + SUBJECT_BYTES:
        raise DecryptionError("Not a DocOS file ciphertext (unknown format or truncated).")
    subject = uuid.UUID(bytes=blob[start : start + SUBJECT_BYTES])
    key = subject_key(clinic, subject, create=False)
    return decrypt_with_data_key(key, FILE_FORMAT + blob[start + SUBJECT_BYTES :], _subject_aad(aad, subject))


def file_subject(blob: bytes) -> uuid.UUID | None:
    """The subject whose key encrypts this file ciphertext, or None (the clinic's data key)."""
    start = len(SUBJECT_FILE_FORMAT)
    if bytes(blob[:start]) != SUBJECT_FILE_FORMAT or len(blob) < start + SUBJECT_BYTES:
        return None
    return uuid.UUID(bytes=bytes(blob[start : start + SUBJECT_BYTES]))


# --- per-subject keys, wrapped by the clinic's data key and kept by the subject's app ---------------


class SubjectKeyStore(Protocol):
    """Where the wrapped subject keys of the current clinic schema live (patients registers one)."""

    def load(self, subject: uuid.UUID) -> bytes | None:
        """The wrapped key, or None when there is none (never made, or destroyed)."""

    def was_destroyed(self, subject: uuid.UUID) -> bool:
        """Whether the subject had a key that was destroyed (erased), as opposed to never having one."""

    def add(self, subject: uuid.UUID, wrapped: bytes) -> bytes:
        """Keep `wrapped` unless the subject has a key already; return the one kept (a race's winner)."""


_subject_key_store: SubjectKeyStore | None = None


def register_subject_key_store(store: SubjectKeyStore) -> None:
    global _subject_key_store
    _subject_key_store = store


def _subject_aad(file_aad_bytes: bytes, subject: uuid.UUID) -> bytes:
    return file_aad_bytes + f"|subject:{subject}".encode()


def subject_key_aad(schema_name: str, subject: uuid.UUID) -> bytes:
    return f"docos:v1|subject-key|{schema_name}|{subject}".encode()


def subject_key(clinic: FileOwner, subject: uuid.UUID, *, create: bool) -> bytes:
    """The subject's file key in `clinic` (made on first use with `create`). Without `create`, raises
    SubjectKeyDestroyedError when the subject was erased, DecryptionError when it never had a key."""
    if _subject_key_store is None:
        raise CryptoError("No subject key store is registered (is the patients app installed?).")
    aad = subject_key_aad(clinic.schema_name, subject)
    data_key = clinic_data_key(clinic)
    wrapped = _subject_key_store.load(subject)
    if wrapped is None:
        if create:
            wrapped = _subject_key_store.add(subject, encrypt_with_data_key(data_key, new_data_key(), aad))
        elif _subject_key_store.was_destroyed(subject):
            raise SubjectKeyDestroyedError(
                "This file belonged to a person whose data was erased: their key was destroyed, so it cannot be opened."
            )
        else:  # a subject that never had a key: the ciphertext's header was altered
            raise DecryptionError("File ciphertext names a subject without a key: it was altered.")
    return decrypt_with_data_key(data_key, wrapped, aad)


# --- field values under the data key of the clinic that owns the schema ----------------------------
#
# A clinic-keyed field is encrypted with the data key of the clinic whose schema holds the row, so
# destroying that key (crypto-shredding) makes the clinic's clinical text unreadable along with its
# files, in the database and in every backup. Rotating the key ring re-wraps the data key and leaves
# these ciphertexts alone.
#
# Which clinic: the tenant of the connection (a request's or task's clinic, loaded afresh for each)
# when it is the clinic of that schema; otherwise (`schema_context`, migrations, a row read in one
# context and used after it) the clinic is looked up by schema name through the lookup `clinics`
# registers. The unwrapped key is cached per process and schema for CLINIC_KEY_CACHE_SECONDS:
# - writing checks the writing connection's tenant on every value (an attribute read), so a clinic
#   whose key was destroyed, or a clinic re-created under the same schema name, never gets a value
#   written with a stale key;
# - reading uses the cache (the connection proxy costs microseconds per value); a value that fails
#   to authenticate with a cached key is retried once with the key looked up afresh. So other
#   processes may still read a crypto-shredded clinic's text for up to CLINIC_KEY_CACHE_SECONDS
#   (the process that shreds forgets at once); the database and backups are unreadable at once.

CLINIC_KEY_CACHE_SECONDS = 30.0

_clinic_lookup: Callable[[str], FileOwner | None] | None = None
_field_ciphers: dict[str, tuple[float, bytes, AESGCM]] = {}  # schema -> (expires, wrapped key, cipher)


def register_clinic_lookup(lookup: Callable[[str], FileOwner | None]) -> None:
    """`lookup(schema_name)` returns the clinic owning that schema (read from the public schema), or None."""
    global _clinic_lookup
    _clinic_lookup = lookup


def forget_clinic_key(schema_name: str) -> None:
    """Drop this process's cached data key for a schema (after crypto-shredding, or creating a clinic)."""
    _field_ciphers.pop(schema_name, None)


def _is_owner(tenant: Any, schema_name: str) -> bool:
    return getattr(tenant, "schema_name", None) == schema_name and hasattr(tenant, "wrapped_data_key")


def _clinic_owning(schema_name: str) -> FileOwner:
    tenant = getattr(connection, "tenant", None)
    if _is_owner(tenant, schema_name):
        return cast(FileOwner, tenant)
    if _clinic_lookup is None:
        raise DataKeyUnavailableError("No clinic lookup is registered (is the clinics app installed?).")
    clinic = _clinic_lookup(schema_name)
    if clinic is None:
        raise DataKeyUnavailableError(f"No clinic owns schema {schema_name!r}, so it has no data key.")
    return clinic


def _remember(schema_name: str, clinic: FileOwner) -> AESGCM:
    wrapped = clinic.wrapped_data_key
    if wrapped is None:
        forget_clinic_key(schema_name)
        when = clinic.data_key_destroyed_at
        raise DataKeyUnavailableError(
            f"The data key of the clinic in schema {schema_name!r} was destroyed"
            f"{f' on {when:%d %b %Y}' if when else ''}; its clinical text is unreadable."
        )
    cipher = AESGCM(clinic_data_key(clinic))
    _field_ciphers[schema_name] = (time.monotonic() + CLINIC_KEY_CACHE_SECONDS, bytes(wrapped), cipher)
    return cipher


def clinic_field_cipher(schema_name: str, *, tenant: Any = None) -> AESGCM:
    """The AES-GCM cipher of the data key of the clinic that owns `schema_name`. `tenant` is the
    tenant of the connection that will use it, when the caller has that connection at hand.

    Raises DataKeyUnavailableError when the key was destroyed or no clinic owns the schema."""
    cached = _field_ciphers.get(schema_name)
    if _is_owner(tenant, schema_name):  # exact: compare with the clinic row this connection loaded
        wrapped = tenant.wrapped_data_key
        if cached is not None and wrapped is not None and cached[1] == wrapped:
            return cached[2]
        return _remember(schema_name, tenant)
    if cached is not None and cached[0] > time.monotonic():
        return cached[2]
    return _remember(schema_name, _clinic_owning(schema_name))


def is_clinic_keyed(blob: bytes) -> bool:
    return blob[:1] == CLINIC_FIELD_PREFIX


def encrypt_field(plaintext: bytes, aad: bytes, *, clinic_schema: str | None = None, tenant: Any = None) -> bytes:
    """A field ciphertext: under the key ring, or (`clinic_schema` given) under the data key of the
    clinic owning that schema (`tenant`: the writing connection's tenant, see clinic_field_cipher)."""
    if clinic_schema is None:
        return key_ring().encrypt(plaintext, aad)
    cipher = clinic_field_cipher(clinic_schema, tenant=tenant)
    nonce = os.urandom(NONCE_BYTES)
    return b"".join((CLINIC_FIELD_PREFIX, nonce, cipher.encrypt(nonce, plaintext, aad)))


def decrypt_field(blob: bytes, aad: bytes, schema_name: str) -> bytes:
    """Decrypt a field ciphertext of either layout; `schema_name` is the schema the row was read from."""
    if not is_clinic_keyed(blob):
        return key_ring().decrypt(blob, aad)
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Not a DocOS ciphertext (unknown format version or truncated).")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    cached = _field_ciphers.get(schema_name)
    try:
        return clinic_field_cipher(schema_name).decrypt(nonce, body, aad)
    except InvalidTag:
        pass
    if cached is not None:  # the cached key may be stale (a clinic re-created under this schema name)
        forget_clinic_key(schema_name)
        try:
            return clinic_field_cipher(schema_name).decrypt(nonce, body, aad)
        except InvalidTag:
            pass
    raise DecryptionError(
        "Ciphertext failed authentication: it was altered or belongs to another row, column or clinic."
    )
