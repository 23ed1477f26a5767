"""Clinic logo checks: the type comes from the file's bytes, never from its name or the browser."""

from __future__ import annotations

from typing import IO, Any

from django.core.exceptions import ValidationError

LOGO_MAX_BYTES = 1024 * 1024
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
)
CONTENT_TYPES = {ext: content_type for _, ext, content_type in _SIGNATURES}


def sniff_image_type(head: bytes) -> str | None:
    """The extension ("png" or "jpg") when the bytes start like a PNG or JPEG file, else None."""
    for signature, ext, _ in _SIGNATURES:
        if head.startswith(signature):
            return ext
    return None


def _read_head(file: IO[Any], size: int = 16) -> bytes:
    position = file.tell() if hasattr(file, "tell") else 0
    file.seek(0)
    head = file.read(size)
    file.seek(position)
    return bytes(head)


def validate_logo(file: Any) -> str:
    """Check size and real type of an uploaded logo; return the extension to store it under."""
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
        file.seek(0)
    if size == 0:
        raise ValidationError({"logo": "The logo file is empty."})
    if size > LOGO_MAX_BYTES:
        raise ValidationError(
            {"logo": f"The logo is {size / 1024 / 1024:.1f} MB; the limit is 1 MB. Please upload a smaller image."}
        )
    ext = sniff_image_type(_read_head(file))
    if ext is None:
        raise ValidationError(
            {"logo": "The logo must be a PNG or JPEG image. This file is not one, whatever its name says."}
        )
    return ext
