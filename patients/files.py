"""Reading a clinic's stored files back: the one function every upload, signed PDF and import read uses.

`stored_file_read` reads through docos.storage.read_verified, which decrypts and checks the
plaintext against the SHA-256 recorded on the owning row when the file was stored. A file that
fails (tampered bytes, another valid ciphertext written under the same name, or a row pointed at
another row's file) is refused with FileAltered and the refusal is audited as
`file.integrity_failed`: which object, which check caught it, never the contents.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from docos.crypto import FileOwner
from docos.storage import FileAltered, read_verified

INTEGRITY_FAILED_ACTION = "file.integrity_failed"


def stored_file_read(
    *,
    clinic: FileOwner,
    name: str,
    sha256: str,
    obj: models.Model,
    location_id: Any,
    actor: User | None,
    context: AuditContext | None = None,
) -> bytes:
    """The decrypted file `name` of `obj`, verified against `sha256`; FileAltered (audited) if it is not.

    Call it before opening the transaction that records the read: the integrity event is written in
    its own transaction, and a caller's transaction that the error unwinds would take it along.
    """
    try:
        return read_verified(clinic, name=name, sha256=sha256)
    except FileAltered as exc:
        audit_record(
            actor=actor,
            action=INTEGRITY_FAILED_ACTION,
            obj=obj,
            location_id=location_id,
            context=context,
            metadata={"check": exc.check, "file": name},
        )
        raise
