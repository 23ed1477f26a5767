"""Public verification of signed documents: short codes, their public routing rows, upload checks.

A signed PDF prints a code like ``RX-7K2M9QH4`` and a QR code for ``https://<base domain>/verify/<code>``.
The code routes, through `clinics.DocumentVerification` in the public schema, to the clinic that
issued the document and the SHA-256 of the exact bytes it issued. The row holds no PHI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from clinics.models import Clinic, DocumentVerification
from docos.throttle import address_bucket, within_budget

# No 0/O, 1/I/L: a code read aloud over the phone or typed from paper cannot be misread.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# New codes have 8 characters (31^8, about 8.5e11 per prefix); codes printed before that have 6 and
# still verify. Guessing is also slowed by the per-address page-view limit below.
CODE_LENGTH = 8
LEGACY_CODE_LENGTHS = (6,)
ACCEPTED_CODE_LENGTHS = (CODE_LENGTH, *LEGACY_CODE_LENGTHS)
PREFIXES = {"prescription": "RX", "consent": "CF", "certificate": "MC", "invoice": "IN"}
CODE_RE = re.compile(rf"^[A-Z]{{2}}-[{ALPHABET}]+$")
UPLOAD_LIMIT = 10  # uploads per IP address ...
UPLOAD_WINDOW_SECONDS = 10 * 60  # ... per ten minutes
VIEW_LIMIT = 60  # looked-up codes (known or not, pages and uploads) per IP address ...
VIEW_WINDOW_SECONDS = 10 * 60  # ... per ten minutes
UPLOAD_MAX_BYTES = 10 * 1024 * 1024


def new_code(kind: str) -> str:
    """A fresh code for a document of `kind` that no clinic has issued yet."""
    prefix = PREFIXES[kind]
    for _ in range(20):
        code = f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        with schema_context(get_public_schema_name()):
            taken = DocumentVerification.objects.filter(code=code).exists()
        if not taken:
            return code
    raise RuntimeError("Could not find a free verification code")  # 31^8 codes: practically unreachable


def normalize_code(text: str) -> str | None:
    """`rx 7k2m9qh4`, `RX7K2M9QH4` and `RX-7K2M9QH4` all mean RX-7K2M9QH4; None if it cannot be a code
    (of the current length or a legacy one)."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    if len(compact) - 2 not in ACCEPTED_CODE_LENGTHS:
        return None
    code = f"{compact[:2]}-{compact[2:]}"
    return code if CODE_RE.match(code) else None


def verification_url(code: str) -> str:
    """The public page for a code, on the base domain (not the clinic's host)."""
    port = f":{settings.DOCOS_PUBLIC_PORT}" if settings.DOCOS_PUBLIC_PORT else ""
    return f"{settings.DOCOS_PUBLIC_URL_SCHEME}://{settings.DOCOS_BASE_DOMAIN}{port}/verify/{code}"


def verification_register(
    *, clinic: Clinic, code: str, kind: str, issued_at: dt.datetime, sha256: str
) -> DocumentVerification:
    """Write the public routing row, in the caller's transaction (same connection, public schema)."""
    with transaction.atomic(), schema_context(get_public_schema_name()):
        return DocumentVerification.objects.create(
            code=code, clinic=clinic, kind=kind, issued_at=issued_at, sha256=sha256
        )


def verification_get(code: str) -> DocumentVerification | None:
    normalized = normalize_code(code)
    if normalized is None:
        return None
    with schema_context(get_public_schema_name()):
        return DocumentVerification.objects.select_related("clinic").filter(code=normalized).first()


def sha256_of_upload(file: IO[bytes] | Any) -> str:
    digest = hashlib.sha256()
    if hasattr(file, "chunks"):
        for chunk in file.chunks():
            digest.update(chunk)
    else:
        for chunk in iter(lambda: file.read(64 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def upload_matches(verification: DocumentVerification, file: IO[bytes] | Any) -> bool:
    """Whether the uploaded copy is byte for byte the document the clinic issued."""
    return hmac.compare_digest(sha256_of_upload(file), verification.sha256)


def upload_allowed(ip: str | None) -> bool:
    """Count an upload against the IP's budget; False once the budget for the window is spent."""
    return within_budget(f"verify-upload:{address_bucket(ip)}", UPLOAD_LIMIT, UPLOAD_WINDOW_SECONDS)


def view_allowed(ip: str | None) -> bool:
    """Count a code lookup against the IP's budget (slows guessing codes); False once spent."""
    return within_budget(f"verify-view:{address_bucket(ip)}", VIEW_LIMIT, VIEW_WINDOW_SECONDS)
