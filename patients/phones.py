"""Phone numbers in, E.164 out. India is the default region, so every common way of writing an
Indian number is accepted: 98450 12345, 098450 12345, +91-98450-12345, 0091 98450 12345,
919845012345, 080-2345 6789. Numbers of other countries need their + prefix."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError

DEFAULT_REGION = "IN"
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_phone(value: str | None, *, field: str = "phone", mobile: bool = False) -> str:
    """The E.164 form of `value` ("" for blank); ValidationError naming `field` otherwise."""
    text = " ".join((value or "").split())
    if not text:
        return ""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not 7 <= len(digits) <= 15 or any(ch.isalpha() for ch in text):
        raise ValidationError(
            {field: "Enter a phone number such as 98450 12345 or +91 98450 12345."}, code="invalid_phone"
        )
    parsed = None
    for candidate in (text, "+" + digits) if not text.startswith("+") else (text,):
        try:
            attempt = phonenumbers.parse(candidate, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(attempt):
            parsed = attempt
            break
    if parsed is None:
        raise ValidationError(
            {field: "This is not a valid phone number. Indian mobiles have 10 digits, e.g. 98450 12345."},
            code="invalid_phone",
        )
    if mobile and phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise ValidationError({field: "WhatsApp needs a mobile number, not a landline."}, code="not_mobile")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """For display: +91 98450 12345."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
