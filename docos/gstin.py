"""GSTIN (India GST identification number) validation: shape, state code and check digit."""

import re

from django.core.exceptions import ValidationError

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SHAPE = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
# State/UT codes issued by GSTN (01-38) plus 97 (other territory) and 99 (centre jurisdiction).
_STATE_CODES = {f"{n:02d}" for n in range(1, 39)} | {"97", "99"}


def gstin_check_digit(first14: str) -> str:
    total = 0
    for index, char in enumerate(first14):
        value = _ALPHABET.index(char) * (2 if index % 2 else 1)
        total += value // 36 + value % 36
    return _ALPHABET[(36 - total % 36) % 36]


def validate_gstin(value: str) -> None:
    gstin = value.strip().upper()
    if not _SHAPE.match(gstin):
        raise ValidationError(
            "Enter a 15-character GSTIN like 29ABCDE1234F1Z5 (state code, PAN, entity number, Z, check digit).",
            code="gstin_format",
        )
    if gstin[:2] not in _STATE_CODES:
        raise ValidationError(f"{gstin[:2]} is not a GST state code.", code="gstin_state")
    if gstin_check_digit(gstin[:14]) != gstin[14]:
        raise ValidationError("This GSTIN's check digit is wrong; please check it for typos.", code="gstin_checksum")
