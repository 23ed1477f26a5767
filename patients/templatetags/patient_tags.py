"""Display helpers for patient pages."""

from __future__ import annotations

from typing import Any

from django import template

from patients.phones import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """+919845012345 -> +91 98450 12345."""
    return format_phone(value or "")


@register.filter
def masked_phone(value: str) -> str:
    """Only the last four digits, for patients the viewer may not open: +91 ••••• •2345."""
    shown = format_phone(value or "")
    if not shown:
        return ""
    digits_seen = sum(ch.isdigit() for ch in shown)
    out, seen = [], 0
    for ch in shown:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits_seen - 4 or (shown.startswith("+") and seen <= 2) else "•")
        else:
            out.append(ch)
    return "".join(out)


@register.filter
def age(patient: Any) -> str:
    """34 y, or ~34 y when the date of birth was estimated from a stated age."""
    years = patient.age_years() if patient is not None else None
    if years is None:
        return ""
    return f"{'~' if patient.dob_is_estimated else ''}{years} y"


@register.filter
def masked_name(patient: Any) -> str:
    """The given name and the family name's initial, for patients the viewer may not open yet:
    enough for the person at the desk to confirm who they are, not a directory listing."""
    given = (getattr(patient, "given_name", "") or "").strip()
    initial = (getattr(patient, "family_name", "") or "").strip()[:1]
    return f"{given} {initial}." if initial else given


@register.filter
def born(patient: Any) -> str:
    """ "born 15 Jun 1990", or "born about 1981" when the date was estimated from a stated age (the
    estimate's day and month are made up and never shown); "" when unknown."""
    dob = getattr(patient, "date_of_birth", None)
    if dob is None:
        return ""
    return f"born about {dob.year}" if patient.dob_is_estimated else f"born {dob:%d %b %Y}"
