"""AES-256-GCM with a key ring.

Ciphertext layout (bytes): version (1) | key-id length (1) | key id (ascii) | nonce (12) | ciphertext+tag.
The associated data names what the ciphertext belongs to (schema, table, column, row), so a value
copied to another row, column or clinic fails authentication instead of decrypting.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12


class CryptoError(Exception):
    """Base class: something about a ciphertext or the key ring is wrong."""


class KeyRingError(CryptoError):
    """The configured key ring is missing or malformed."""


class UnknownKeyError(CryptoError):
    """The ciphertext names a key id that is not in the key ring."""


class DecryptionError(CryptoError):
    """Authentication failed: wrong key, tampered bytes, or the ciphertext belongs elsewhere (AAD mismatch)."""


@dataclass(frozen=True)
class KeyRing:
    primary_kid: str
    keys: dict[str, AESGCM]

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        kid = self.primary_kid.encode()
        body = self.keys[self.primary_kid].encrypt(nonce, plaintext, aad)
        return bytes((FORMAT_VERSION, len(kid))) + kid + nonce + body

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        kid = key_id_of(blob)
        cipher = self.keys.get(kid)
        if cipher is None:
            raise UnknownKeyError(f"Ciphertext was made with key id {kid!r}, which is not in the key ring.")
        start = 2 + len(kid)
        nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return cipher.decrypt(nonce, body, aad)
        except InvalidTag:
            raise DecryptionError(
                "Ciphertext failed authentication: it was altered or belongs to another row, column or clinic."
            ) from None


def key_id_of(blob: bytes) -> str:
    if len(blob) < 2 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("Not a DocOS ciphertext (unknown format version or truncated).")
    kid_len = blob[1]
    return blob[2 : 2 + kid_len].decode("ascii", errors="replace")


def parse_key_ring(spec: str) -> KeyRing:
    """Parse "kid:base64key[,kid:base64key...]"; the first key encrypts, all keys decrypt."""
    entries = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not entries:
        raise KeyRingError("DOCOS_ENCRYPTION_KEYS is empty; set it to 'kid:base64-of-32-random-bytes'.")
    keys: dict[str, AESGCM] = {}
    for entry in entries:
        kid, sep, b64 = entry.partition(":")
        if (
            not sep
            or not kid
            or not kid.isascii()
            or len(kid) > 32
            or not kid.replace("-", "").replace("_", "").isalnum()
        ):
            raise KeyRingError(f"Key ring entry {kid[:32]!r} must look like 'kid:base64key' with a short ASCII kid.")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise KeyRingError(f"Key {kid!r} is not valid base64.") from None
        if len(raw) != 32:
            raise KeyRingError(f"Key {kid!r} is {len(raw)} bytes; AES-256 needs exactly 32.")
        if kid in keys:
            raise KeyRingError(f"Key id {kid!r} appears twice in the key ring.")
        keys[kid] = AESGCM(raw)
    return KeyRing(primary_kid=entries[0].partition(":")[0], keys=keys)


@lru_cache(maxsize=4)
def _ring_for(spec: str) -> KeyRing:
    return parse_key_ring(spec)


def key_ring() -> KeyRing:
    from django.conf import settings

    return _ring_for(settings.DOCOS_ENCRYPTION_KEYS)


def field_aad(schema: str, table: str, column: str, pk: object) -> bytes:
    return f"docos:v1|{schema}|{table}|{column}|{pk}".encode()


def encrypt_value(plaintext: bytes, aad: bytes) -> bytes:
    return key_ring().encrypt(plaintext, aad)


def decrypt_value(blob: bytes, aad: bytes) -> bytes:
    return key_ring().decrypt(bytes(blob), aad)


# --- per-clinic data keys (for files), wrapped by the master key ring ------------------------------


def data_key_aad(schema_name: str) -> bytes:
    return f"docos:v1|data-key|{schema_name}".encode()


def wrap_data_key(schema_name: str, data_key: bytes) -> bytes:
    return encrypt_value(data_key, data_key_aad(schema_name))


def unwrap_data_key(schema_name: str, wrapped: bytes) -> bytes:
    return decrypt_value(wrapped, data_key_aad(schema_name))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
