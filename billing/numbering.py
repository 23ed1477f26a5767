"""Invoice, credit note and receipt numbers: per location, kind and financial year (April-March),
consecutive, never reused, at most 16 characters (rule 46(b) of the CGST Rules).

A number is `<prefix>/<yyyy>/<serial>`: the location's prefix (1-5 capitals or digits, set in the
billing profile), the financial year as its two two-digit years ("2627" for April 2026 - March
2027) and the serial, zero-padded to four digits: `KOR/2627/0042`, at most 5+1+4+1+5 = 16
characters (up to 99,999 documents per series and year; `next_number` refuses the next one).

The serial is taken from a `DocumentCounter` row locked with SELECT ... FOR UPDATE inside the
transaction that issues the document, at issue time (drafts have no number). Concurrent issuers
at one location queue on that row; a transaction that rolls back gives its number back with
everything else, so there are no gaps and no duplicates.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Location, User
from accounts.selectors import locations_for
from audit.context import AuditContext
from audit.services import audit_record
from billing.models import BillingProfile, DocumentCounter

MAX_LENGTH = 16
SERIAL_DIGITS = 4


def financial_year(day: dt.date) -> int:
    """The year an Indian financial year starts: 2027-03-31 -> 2026, 2027-04-01 -> 2027."""
    return day.year if day.month >= 4 else day.year - 1


def year_label(fy: int) -> str:
    return f"{fy % 100:02d}{(fy + 1) % 100:02d}"


def format_number(prefix: str, fy: int, serial: int) -> str:
    return f"{prefix}/{year_label(fy)}/{serial:0{SERIAL_DIGITS}d}"


def _default_prefix(location: Location, field: str, suffix: str) -> str:
    letters = re.sub(r"[^A-Z0-9]", "", location.name.upper())[:3] or "LOC"
    base = (letters + suffix)[:5]
    taken = set(BillingProfile.objects.values_list(field, flat=True))
    if base not in taken:
        return base
    for n in range(2, 1000):
        candidate = f"{letters[: 5 - len(suffix) - len(str(n))]}{n}{suffix}"[:5]
        if candidate not in taken:
            return candidate
    raise ValidationError("Set this location's numbering prefixes in Billing settings.")


def profile_for(location: Location) -> BillingProfile:
    """The location's billing profile, made with default prefixes on first use ("KOR", "KORC", "KORR")."""
    profile = BillingProfile.objects.filter(location=location).first()
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return BillingProfile.objects.create(
                location=location,
                invoice_prefix=_default_prefix(location, "invoice_prefix", ""),
                credit_note_prefix=_default_prefix(location, "credit_note_prefix", "C"),
                receipt_prefix=_default_prefix(location, "receipt_prefix", "R"),
            )
    except IntegrityError:  # made meanwhile by another request
        return BillingProfile.objects.get(location=location)


def next_number(location: Location, kind: str, day: dt.date) -> tuple[int, int, str]:
    """(financial year, serial, number) of the next document of `kind` at `location`, dated `day`.
    Must run inside the issuing transaction: the counter row stays locked until it ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside the issuing transaction")
    profile = profile_for(location)
    prefix = {
        DocumentCounter.Kind.INVOICE: profile.invoice_prefix,
        DocumentCounter.Kind.CREDIT_NOTE: profile.credit_note_prefix,
        DocumentCounter.Kind.RECEIPT: profile.receipt_prefix,
    }[DocumentCounter.Kind(kind)]
    fy = financial_year(day)
    DocumentCounter.objects.bulk_create(
        [DocumentCounter(location=location, kind=kind, financial_year=fy)], ignore_conflicts=True
    )
    counter = DocumentCounter.objects.select_for_update().get(location=location, kind=kind, financial_year=fy)
    serial = counter.last_number + 1
    number = format_number(prefix, fy, serial)
    if len(number) > MAX_LENGTH:
        raise ValidationError(f"This series is full for the year ({number} would exceed {MAX_LENGTH} characters).")
    counter.last_number = serial
    counter.save(update_fields=["last_number"])
    return fy, serial, number


# --- changing a location's prefixes ---------------------------------------------------------------

SERIES_FIELDS = {
    DocumentCounter.Kind.INVOICE: "invoice_prefix",
    DocumentCounter.Kind.CREDIT_NOTE: "credit_note_prefix",
    DocumentCounter.Kind.RECEIPT: "receipt_prefix",
}


def numbered_this_year(location: Location, day: dt.date) -> dict[str, int]:
    """kind -> how many documents the location has numbered in the financial year of `day`."""
    rows = DocumentCounter.objects.filter(location=location, financial_year=financial_year(day))
    return {row.kind: row.last_number for row in rows}


@transaction.atomic
def billing_profile_set(
    *, actor: User, location: Location, prefixes: dict[str, str], day: dt.date, context: AuditContext | None = None
) -> BillingProfile:
    """Set a location's invoice, credit-note and receipt prefixes (field name -> prefix).

    A series keeps its prefix for the whole financial year once it has numbered a document (a
    number's prefix and serial run together through the year); every prefix is the clinic's only
    use of it, so no two series can print the same number."""
    if not locations_for(actor).filter(pk=location.pk).exists():
        raise PermissionDenied("Not one of your locations.")
    profile = BillingProfile.objects.select_for_update().get(pk=profile_for(location).pk)
    wanted = {field: (prefixes.get(field) or "").strip().upper() for field in SERIES_FIELDS.values()}
    errors: dict[str, list[str]] = {}
    for field, prefix in wanted.items():
        if not re.fullmatch(r"[A-Z0-9]{1,5}", prefix):
            errors.setdefault(field, []).append("Use 1 to 5 capital letters or digits, e.g. KOR.")
    if len(set(wanted.values())) < len(wanted):
        errors.setdefault("__all__", []).append("The three prefixes must differ from each other.")
    used = numbered_this_year(location, day)
    fy = year_label(financial_year(day))
    for kind, field in SERIES_FIELDS.items():
        if wanted[field] != getattr(profile, field) and used.get(kind, 0) > 0:
            errors.setdefault(field, []).append(
                f"{used[kind]} numbered as {getattr(profile, field)}/{fy}/… this financial year: "
                "the prefix can change from next April."
            )
    others = BillingProfile.objects.exclude(pk=profile.pk)
    for field, prefix in wanted.items():
        if any(others.filter(**{name: prefix}).exists() for name in SERIES_FIELDS.values()):
            errors.setdefault(field, []).append(f"{prefix} is another location's prefix.")
    if errors:
        raise ValidationError(errors)
    changed = [field for field, prefix in wanted.items() if getattr(profile, field) != prefix]
    for field in changed:
        setattr(profile, field, wanted[field])
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as exc:  # another location took the prefix a moment ago
        raise ValidationError("Another location has just taken one of these prefixes; choose another.") from exc
    audit_record(
        actor=actor, action="billing_profile.update", obj=profile, location_id=location.pk, context=context,
        changed_fields=changed, metadata={field: wanted[field] for field in changed},
    )  # fmt: skip
    return profile
