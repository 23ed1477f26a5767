"""Consent forms and certificates: templates with placeholders, on-screen signatures, signed PDFs.

Rules kept here, whatever the caller (HTML view, API, demo seed):
- template text is user-authored, so placeholders ({{ patient_name }}, {{ procedure }},
  {{ clinic_name }}, {{ doctor_name }}, {{ date }}; certificates also {{ from_date }},
  {{ to_date }}, {{ days }}, {{ diagnosis }}) are filled by `fill_placeholders`, a one-pass
  replacer: never the Django template engine, and a value is never itself scanned for placeholders;
- a signature is a PNG (posted as a data URL) that `clean_signature` checks: really a PNG, bounded
  in bytes and pixels, not blank; it is re-encoded (cropped to the ink, metadata dropped) before
  it goes into the PDF;
- a minor's consent is signed by the parent or guardian; an adult signs for themselves unless a
  guardian signs for them;
- a signed consent or certificate is immutable: there is no service that changes one (a change is
  a new form), its PDF is stored encrypted with its SHA-256, published for /verify/<code>, and
  checked against that hash on every read;
- `consents.manage` prepares and signs consents; `certificates.sign` signs certificates and needs
  the doctor's registration number, which prints on the certificate.
Each write is audited without PHI (no names, no text).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts.guards import location_problem, require_capability
from accounts.models import Location, User
from audit.context import AuditContext
from audit.services import audit_record
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate, SignedDocument
from documents.services import default_location
from documents.signing import (
    age_sex,
    current_clinic,
    issuing_letterhead,
    local_time,
    sign_document,
    signed_document_read,
)
from patients.access import patient_check_writable
from patients.models import Patient

CONSENT_PLACEHOLDERS = ("patient_name", "procedure", "clinic_name", "doctor_name", "date")
CERTIFICATE_PLACEHOLDERS = (*CONSENT_PLACEHOLDERS, "from_date", "to_date", "days", "diagnosis")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BODY_MAX = 20_000
NAME_MAX = 120
PROCEDURE_MAX = 200
DIAGNOSIS_MAX = 200
CERTIFICATE_MAX_DAYS = 366
DATE_FORMAT = "%d %b %Y"

SIGNATURE_DATA_URL_PREFIX = "data:image/png;base64,"
SIGNATURE_MAX_BYTES = 512 * 1024
SIGNATURE_MIN_SIZE = (100, 40)  # width, height in pixels
SIGNATURE_MAX_SIZE = (3000, 1500)
SIGNATURE_MIN_INK_PIXELS = 40
SIGNATURE_MIN_SPAN = 20  # the ink must reach across at least this many pixels one way or the other
SIGNATURE_PADDING = 12
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_INK_THRESHOLD = 160  # grey level (0-255) below which a pixel counts as ink on a white page

KIND_TITLES: dict[str, str] = {
    CertificateTemplate.Kind.SICK_LEAVE: "Medical certificate (sick leave)",
    CertificateTemplate.Kind.FITNESS: "Certificate of fitness",
    CertificateTemplate.Kind.CUSTOM: "Medical certificate",
}


# --- placeholders ------------------------------------------------------------------------------------


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each {{ name }} with values[name]; unknown names stay as written. One pass: what a
    value contains (even "{{ date }}") is never replaced again, and nothing else in the text has
    any meaning (no tags, filters or attribute lookups)."""
    return PLACEHOLDER_RE.sub(lambda match: str(values.get(match.group(1), match.group(0))), text)


def placeholders_in(text: str) -> list[str]:
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER_RE.finditer(text)))


def check_template_text(text: str, allowed: tuple[str, ...]) -> str:
    """The cleaned template body; raises ValidationError for unknown or malformed placeholders."""
    body = (text or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError("Write the text of the template.", code="required")
    if len(body) > BODY_MAX:
        raise ValidationError(f"Keep the text under {BODY_MAX:,} characters.", code="max_length")
    unknown = [name for name in placeholders_in(body) if name not in allowed]
    if unknown:
        raise ValidationError(
            f"Unknown placeholder {{{{ {unknown[0]} }}}}. Use: "
            + ", ".join(f"{{{{ {name} }}}}" for name in allowed)
            + ".",
            code="placeholder",
        )
    leftover = PLACEHOLDER_RE.sub("", body)
    if "{{" in leftover or "}}" in leftover:
        position = max(leftover.find("{{"), leftover.find("}}"))
        snippet = leftover[max(0, position - 15) : position + 20].strip()
        raise ValidationError(
            f"A placeholder is not written right near \u201c{snippet}\u201d: write it as {{{{ patient_name }}}}.",
            code="placeholder",
        )
    return body


# --- signatures --------------------------------------------------------------------------------------


def decode_signature(value: str | bytes) -> bytes:
    """PNG bytes from a `data:image/png;base64,...` URL (or raw bytes), checked by clean_signature."""
    if isinstance(value, bytes | bytearray):
        return clean_signature(bytes(value))
    text = (value or "").strip()
    if not text:
        raise ValidationError("Sign in the box before saving.", code="signature_missing")
    if text[: len(SIGNATURE_DATA_URL_PREFIX)].lower() != SIGNATURE_DATA_URL_PREFIX:
        raise ValidationError(
            "The signature must be a PNG image sent as data:image/png;base64,\u2026", code="signature_format"
        )
    encoded = text[len(SIGNATURE_DATA_URL_PREFIX) :]
    if len(encoded) > (SIGNATURE_MAX_BYTES * 4) // 3 + 4:
        raise ValidationError(
            f"The signature image is larger than {SIGNATURE_MAX_BYTES // 1024} KB.", code="signature_size"
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("The signature is not valid base64 data.", code="signature_format") from None
    return clean_signature(raw)


def clean_signature(raw: bytes) -> bytes:
    """Check a signature PNG and return it re-encoded: on white, cropped to the ink, no metadata."""
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ValidationError(
            f"The signature image is larger than {SIGNATURE_MAX_BYTES // 1024} KB.", code="signature_size"
        )
    if not raw.startswith(_PNG_MAGIC) or raw[12:16] != b"IHDR":
        raise ValidationError("The signature is not a PNG image.", code="signature_format")
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    (min_w, min_h), (max_w, max_h) = SIGNATURE_MIN_SIZE, SIGNATURE_MAX_SIZE
    if not (min_w <= width <= max_w and min_h <= height <= max_h):
        raise ValidationError(
            f"The signature image is {width}x{height} pixels; it must be between {min_w}x{min_h} and {max_w}x{max_h}.",
            code="signature_dimensions",
        )
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
            image.load()
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError("The signature image could not be read.", code="signature_format") from None
    page = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    page.alpha_composite(rgba)
    flat = page.convert("RGB")
    ink = flat.convert("L").point(lambda level: 255 if level < _INK_THRESHOLD else 0)
    box = ink.getbbox()
    ink_pixels = ink.histogram()[255]
    if (
        box is None
        or ink_pixels < SIGNATURE_MIN_INK_PIXELS
        or max(box[2] - box[0], box[3] - box[1]) < SIGNATURE_MIN_SPAN
    ):
        raise ValidationError(
            "The signature box is empty or holds only a dot. Ask the signer to sign in the box.",
            code="signature_blank",
        )
    left, top, right, bottom = box
    pad = SIGNATURE_PADDING
    cropped = flat.crop((max(0, left - pad), max(0, top - pad), min(width, right + pad), min(height, bottom + pad)))
    out = io.BytesIO()
    cropped.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- shared helpers ----------------------------------------------------------------------------------


def _add(errors: dict[str, list[Any]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _collect(errors: dict[str, list[Any]], field: str, check: Any, *args: Any) -> Any:
    """Run one check, adding its errors (codes kept) under `field`, so all are reported at once."""
    try:
        return check(*args)
    except ValidationError as exc:
        errors.setdefault(field, []).extend(exc.error_list if hasattr(exc, "error_list") else exc.messages)
        return None


def _check_location(errors: dict[str, list[Any]], actor: User, location: Location | None) -> None:
    problem = location_problem(actor, location)
    if problem is not None:
        _add(errors, "location", problem)


def _short(errors: dict[str, list[Any]], field: str, value: str, limit: int, label: str) -> str:
    text = " ".join((value or "").split())
    if len(text) > limit:
        _add(errors, field, f"Keep the {label} under {limit} characters.")
    return text


def _render_signed_pdf(
    template_name: str, context: dict[str, Any], location: Location, assets: Any = None
) -> Callable[[Any], bytes]:
    """The `render` step handed to sign_document: our PDF template, given the verification code."""

    def render(verification: Any) -> bytes:
        from docos.pdf import render_pdf

        return render_pdf(
            template_name,
            context,
            page_size="A4",
            letterhead=issuing_letterhead(location),
            verification=verification,
            assets=assets,
        )

    return render


# --- consent and certificate templates ------------------------------------------------------------


@dataclass(frozen=True)
class _TemplateRules:
    """What differs between the two kinds of template; everything else is one code path."""

    model: Any  # ConsentTemplate or CertificateTemplate
    capability: str
    action: str  # audit action prefix
    name_example: str
    placeholders: Any
    versioned: bool  # consent templates number their texts; signed forms keep the text they were signed with


CONSENT_TEMPLATE_RULES = _TemplateRules(
    ConsentTemplate, "consents.manage", "consent_template", "Consent for minor procedure", CONSENT_PLACEHOLDERS, True
)
CERTIFICATE_TEMPLATE_RULES = _TemplateRules(
    CertificateTemplate, "certificates.sign", "certificate_template", "Sick leave", CERTIFICATE_PLACEHOLDERS, False
)


def _clean_template(
    rules: _TemplateRules, errors: dict[str, list[Any]], name: str, kind: str, body: str
) -> tuple[str, str, str]:
    clean_name = _short(errors, "name", name, NAME_MAX, "name")
    if not clean_name:
        _add(errors, "name", f"Name the template, e.g. \u201c{rules.name_example}\u201d.")
    if kind not in rules.model.Kind.values:
        _add(errors, "kind", f"Choose one of: {', '.join(rules.model.Kind.labels)}.")
    clean_body = _collect(errors, "body", check_template_text, body, rules.placeholders) or ""
    return clean_name, kind, clean_body


def _template_create(
    rules: _TemplateRules, *, actor: User, name: str, kind: str, body: str, context: AuditContext | None
) -> Any:
    require_capability(actor, rules.capability, f"manage {rules.action.replace('_', ' ')}s")
    errors: dict[str, list[Any]] = {}
    clean_name, kind, clean_body = _clean_template(rules, errors, name, kind, body)
    if errors:
        raise ValidationError(errors)
    template = rules.model.objects.create(name=clean_name, kind=kind, body=clean_body)
    audit_record(
        actor=actor,
        action=f"{rules.action}.create",
        obj=template,
        context=context,
        changed_fields=["name", "kind", "body"],
        metadata={"kind": kind, "version": 1} if rules.versioned else {"kind": kind},
    )
    return template


def _template_update(
    rules: _TemplateRules,
    *,
    template: Any,
    actor: User,
    name: str | None,
    kind: str | None,
    body: str | None,
    is_active: bool | None,
    context: AuditContext | None,
) -> list[str]:
    require_capability(actor, rules.capability, f"manage {rules.action.replace('_', ' ')}s")
    locked = rules.model.objects.select_for_update().get(pk=template.pk)
    errors: dict[str, list[Any]] = {}
    clean_name, clean_kind, clean_body = _clean_template(
        rules,
        errors,
        locked.name if name is None else name,
        locked.kind if kind is None else kind,
        locked.body if body is None else body,
    )
    if errors:
        raise ValidationError(errors)
    updates: dict[str, Any] = {"name": clean_name, "kind": clean_kind, "body": clean_body}
    if is_active is not None:
        updates["is_active"] = is_active
    changed = [field for field, value in updates.items() if getattr(locked, field) != value]
    if not changed:
        return []
    for field in changed:
        setattr(locked, field, updates[field])
    if rules.versioned and "body" in changed:
        locked.version += 1
        changed.append("version")
    locked.save(update_fields=changed)
    audit_record(
        actor=actor,
        action=f"{rules.action}.update",
        obj=locked,
        context=context,
        changed_fields=changed,
        metadata={"version": locked.version} if rules.versioned else {},
    )
    template.refresh_from_db()
    return changed


@transaction.atomic
def consent_template_create(
    *, actor: User, name: str, kind: str, body: str, context: AuditContext | None = None
) -> ConsentTemplate:
    template: ConsentTemplate = _template_create(
        CONSENT_TEMPLATE_RULES, actor=actor, name=name, kind=kind, body=body, context=context
    )
    return template


@transaction.atomic
def consent_template_update(
    *,
    template: ConsentTemplate,
    actor: User,
    name: str | None = None,
    kind: str | None = None,
    body: str | None = None,
    is_active: bool | None = None,
    context: AuditContext | None = None,
) -> list[str]:
    """Change a template. A new text makes a new version; forms already signed keep the text they
    were signed with (it is copied into each form and its PDF)."""
    return _template_update(
        CONSENT_TEMPLATE_RULES,
        template=template,
        actor=actor,
        name=name,
        kind=kind,
        body=body,
        is_active=is_active,
        context=context,
    )


@transaction.atomic
def certificate_template_create(
    *, actor: User, name: str, kind: str, body: str, context: AuditContext | None = None
) -> CertificateTemplate:
    template: CertificateTemplate = _template_create(
        CERTIFICATE_TEMPLATE_RULES, actor=actor, name=name, kind=kind, body=body, context=context
    )
    return template


@transaction.atomic
def certificate_template_update(
    *,
    template: CertificateTemplate,
    actor: User,
    name: str | None = None,
    kind: str | None = None,
    body: str | None = None,
    is_active: bool | None = None,
    context: AuditContext | None = None,
) -> list[str]:
    """Change a template; certificates already signed keep their own copy of the text."""
    return _template_update(
        CERTIFICATE_TEMPLATE_RULES,
        template=template,
        actor=actor,
        name=name,
        kind=kind,
        body=body,
        is_active=is_active,
        context=context,
    )


# --- consent forms -------------------------------------------------------------------------------


def consent_text(
    *,
    template: ConsentTemplate,
    patient: Patient,
    procedure: str,
    doctor: User | None,
    when: dt.datetime,
    location: Location,
) -> str:
    """The template's text filled in for this patient (what the signer reads and what prints)."""
    return fill_placeholders(
        template.body,
        {
            "patient_name": patient.full_name,
            "procedure": procedure,
            "clinic_name": current_clinic().name,
            "doctor_name": doctor.full_name if doctor is not None else "",
            "date": local_time(when, location).strftime(DATE_FORMAT),
        },
    )


def needs_procedure(template: ConsentTemplate) -> bool:
    return template.kind == ConsentTemplate.Kind.PROCEDURE or "procedure" in placeholders_in(template.body)


def relation_label(form: ConsentForm, patient: Patient) -> str:
    """How the signer relates to the patient, for the PDF: "Patient", or "Guardian (mother)"."""
    if form.signer_relation == ConsentForm.SignerRelation.SELF:
        return "Patient"
    detail = patient.guardian_relation.strip()
    same_person = patient.guardian_name.strip().casefold() == form.signer_name.strip().casefold()
    return f"Parent or guardian ({detail.lower()})" if detail and same_person else "Parent or guardian"


@transaction.atomic
def consent_sign(
    *,
    patient: Patient,
    template: ConsentTemplate,
    actor: User,
    signature: str | bytes,
    location: Location | None = None,
    procedure: str = "",
    signer_name: str = "",
    signer_relation: str = ConsentForm.SignerRelation.SELF,
    witness_name: str = "",
    doctor: User | None = None,
    context: AuditContext | None = None,
) -> ConsentForm:
    """Fill the template for the patient, take the signature, and make the signed, verifiable PDF.

    For a minor the parent or guardian signs (`signer_relation="guardian"`; the name defaults to
    the guardian on the patient's record). Errors are reported per field, all at once."""
    require_capability(actor, "consents.manage", "prepare consent forms")
    patient_check_writable(actor=actor, patient=patient)
    if location is None:
        location = default_location(actor, patient)
    errors: dict[str, list[Any]] = {}
    _check_location(errors, actor, location)
    if not template.is_active:
        _add(errors, "template", "This template was retired; choose a current one.")
    clean_procedure = _short(errors, "procedure", procedure, PROCEDURE_MAX, "procedure")
    if needs_procedure(template) and not clean_procedure:
        _add(errors, "procedure", "Name the procedure this consent is for.")
    name = _short(errors, "signer_name", signer_name, NAME_MAX, "signer's name")
    witness = _short(errors, "witness_name", witness_name, NAME_MAX, "witness's name")
    if signer_relation not in ConsentForm.SignerRelation.values:
        _add(errors, "signer_relation", "Say who signs: the patient or a parent or guardian.")
    elif signer_relation == ConsentForm.SignerRelation.SELF:
        if patient.is_minor:
            _add(
                errors,
                "signer_relation",
                f"{patient.full_name} is {patient.age_years()} years old: a parent or guardian signs for a minor.",
            )
        name = name or patient.full_name
    else:
        name = name or " ".join(patient.guardian_name.split())
        if not name:
            _add(errors, "signer_name", "Enter the name of the parent or guardian who signs.")
        elif name.casefold() == patient.full_name.casefold():
            _add(errors, "signer_name", "A guardian signs in their own name, not the patient's.")
    if witness and witness.casefold() == name.casefold():
        _add(errors, "witness_name", "The witness must be someone other than the signer.")
    if doctor is not None and not doctor.is_active:
        _add(errors, "doctor", "Choose an active doctor.")
    png = _collect(errors, "signature", decode_signature, signature)
    if errors:
        raise ValidationError(errors)
    assert location is not None and png is not None

    now = timezone.now()
    doctor = doctor or actor
    text = consent_text(
        template=template, patient=patient, procedure=clean_procedure, doctor=doctor, when=now, location=location
    )
    form = ConsentForm(
        patient=patient,
        template=template,
        location=location,
        procedure=clean_procedure,
        rendered_text=text,
        signer_name=name,
        signer_relation=signer_relation,
        witness_name=witness,
        signed_at=now,
        prepared_by=actor,
    )
    local = local_time(now, location)
    pdf_context = {
        "form": form,
        "patient": patient,
        "template": template,
        "age_sex": age_sex(patient),
        "relation": relation_label(form, patient),
        "signed_on": local.strftime(DATE_FORMAT),
        "signed_at_text": local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or ""),
        "location": location,
        "prepared_by": actor,
        "signature_src": "docos-asset:signature",
    }
    from docos.pdf import PdfAsset

    document = sign_document(
        kind=SignedDocument.Kind.CONSENT,
        patient=patient,
        location=location,
        signer=actor,
        signed_at=now,
        render=_render_signed_pdf(
            "pdf/consent.html", pdf_context, location, assets={"signature": PdfAsset(png, "image/png")}
        ),
    )
    form.document = document
    form.save()
    audit_record(
        actor=actor,
        action="consent.sign",
        obj=form,
        location_id=location.pk,
        context=context,
        changed_fields=["rendered_text", "signer_name", "signer_relation", "witness_name", "document"],
        metadata={
            "patient": str(patient.pk),
            "template": str(template.pk),
            "template_version": template.version,
            "kind": template.kind,
            "signer_relation": signer_relation,
            "witnessed": bool(witness),
            "code": document.verification_code,
            "sha256": document.sha256,
        },
    )
    return form


def consent_pdf_read(*, consent: ConsentForm, actor: User, context: AuditContext | None = None) -> bytes:
    require_capability(actor, "consents.manage", "view consent forms")
    document = SignedDocument.objects.get(pk=consent.document_id)
    return signed_document_read(document=document, actor=actor, action="consent.download", context=context)


# --- certificates --------------------------------------------------------------------------------


def certificate_days(from_date: dt.date | None, to_date: dt.date | None) -> int | None:
    if from_date is None or to_date is None:
        return None
    return (to_date - from_date).days + 1


def certificate_values(
    *,
    patient: Patient,
    doctor: User,
    when: dt.datetime,
    location: Location,
    from_date: dt.date | None,
    to_date: dt.date | None,
    diagnosis: str,
    procedure: str = "",
) -> dict[str, str]:
    days = certificate_days(from_date, to_date)
    return {
        "patient_name": patient.full_name,
        "procedure": procedure,
        "clinic_name": current_clinic().name,
        "doctor_name": doctor.full_name,
        "date": local_time(when, location).strftime(DATE_FORMAT),
        "from_date": from_date.strftime(DATE_FORMAT) if from_date else "",
        "to_date": to_date.strftime(DATE_FORMAT) if to_date else "",
        "days": str(days) if days is not None else "",
        "diagnosis": diagnosis,
    }


def certificate_preview(
    *,
    patient: Patient,
    actor: User,
    body: str,
    from_date: dt.date | None,
    to_date: dt.date | None,
    diagnosis: str,
    location: Location,
) -> str:
    """The text as it would print if signed now (placeholders filled; nothing is saved)."""
    values = certificate_values(
        patient=patient,
        doctor=actor,
        when=timezone.now(),
        location=location,
        from_date=from_date,
        to_date=to_date,
        diagnosis=" ".join((diagnosis or "").split()),
    )
    return fill_placeholders((body or "").strip(), values)


def _check_certificate_dates(
    errors: dict[str, list[Any]], kind: str, used: list[str], from_date: dt.date | None, to_date: dt.date | None
) -> None:
    needs_from = kind in (CertificateTemplate.Kind.SICK_LEAVE, CertificateTemplate.Kind.FITNESS) or bool(
        {"from_date", "days"} & set(used)
    )
    needs_to = kind == CertificateTemplate.Kind.SICK_LEAVE or bool({"to_date", "days"} & set(used))
    if needs_from and from_date is None:
        _add(
            errors,
            "from_date",
            "Enter the date the patient is fit to resume from."
            if kind == CertificateTemplate.Kind.FITNESS
            else "Enter the first day of leave.",
        )
    if needs_to and to_date is None:
        _add(errors, "to_date", "Enter the last day of leave.")
    if from_date is not None and to_date is not None:
        if to_date < from_date:
            _add(errors, "to_date", "The last day cannot be before the first day.")
        elif (to_date - from_date).days + 1 > CERTIFICATE_MAX_DAYS:
            _add(errors, "to_date", f"A certificate covers at most {CERTIFICATE_MAX_DAYS} days.")
    today = timezone.localdate()
    if from_date is not None and from_date > today + dt.timedelta(days=30):
        _add(errors, "from_date", "The first day can be at most 30 days ahead.")


@transaction.atomic
def certificate_sign(
    *,
    patient: Patient,
    actor: User,
    kind: str = "",
    template: CertificateTemplate | None = None,
    body: str = "",
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
    diagnosis: str = "",
    location: Location | None = None,
    context: AuditContext | None = None,
) -> Certificate:
    """Sign a certificate (sick leave, fitness or custom): the text is `body` (or the template's),
    with placeholders filled; the signed PDF carries the doctor's registration number.

    A sick-leave certificate needs both dates, a fitness certificate the date from which the
    patient is fit; any placeholder the text uses needs its value."""
    require_capability(actor, "certificates.sign", "sign certificates")
    if not actor.registration_number.strip():
        raise ValidationError(
            "Your medical registration number is missing, and it must print on every certificate. "
            "Ask an administrator to add it to your staff profile, then sign again.",
            code="registration_number",
        )
    patient_check_writable(actor=actor, patient=patient)
    if location is None:
        location = default_location(actor, patient)
    errors: dict[str, list[Any]] = {}
    _check_location(errors, actor, location)
    if template is not None:
        if not template.is_active:
            _add(errors, "template", "This template was retired; choose a current one.")
        kind = kind or template.kind
    if kind not in CertificateTemplate.Kind.values:
        _add(errors, "kind", f"Choose one of: {', '.join(CertificateTemplate.Kind.labels)}.")
    source = body if (body or "").strip() else (template.body if template is not None else "")
    text_body = _collect(errors, "body", check_template_text, source, CERTIFICATE_PLACEHOLDERS) or ""
    used = placeholders_in(text_body)
    clean_diagnosis = _short(errors, "diagnosis", diagnosis, DIAGNOSIS_MAX, "diagnosis")
    if "diagnosis" in used and not clean_diagnosis:
        _add(errors, "diagnosis", "The certificate's text names the illness: enter it.")
    _check_certificate_dates(errors, kind, used, from_date, to_date)
    if errors:
        raise ValidationError(errors)
    assert location is not None

    now = timezone.now()
    values = certificate_values(
        patient=patient,
        doctor=actor,
        when=now,
        location=location,
        from_date=from_date,
        to_date=to_date,
        diagnosis=clean_diagnosis,
    )
    text = fill_placeholders(text_body, values)
    details: dict[str, Any] = {
        key: value
        for key, value in {
            "from_date": from_date.isoformat() if from_date else "",
            "to_date": to_date.isoformat() if to_date else "",
            "days": certificate_days(from_date, to_date),
            "diagnosis": clean_diagnosis,
        }.items()
        if value
    }
    certificate = Certificate(
        patient=patient,
        template=template,
        kind=kind,
        location=location,
        body=text,
        details=details,
        doctor=actor,
        signed_at=now,
    )
    local = local_time(now, location)
    pdf_context = {
        "certificate": certificate,
        "title": KIND_TITLES.get(kind, "Medical certificate"),
        "patient": patient,
        "doctor": actor,
        "age_sex": age_sex(patient),
        "issued_on": local.strftime(DATE_FORMAT),
        "signed_at_text": local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or ""),
        "from_text": values["from_date"],
        "to_text": values["to_date"],
        "days": details.get("days"),
        "location": location,
    }
    document = sign_document(
        kind=SignedDocument.Kind.CERTIFICATE,
        patient=patient,
        location=location,
        signer=actor,
        signed_at=now,
        render=_render_signed_pdf("pdf/certificate.html", pdf_context, location),
    )
    certificate.document = document
    certificate.save()
    audit_record(
        actor=actor,
        action="certificate.sign",
        obj=certificate,
        location_id=location.pk,
        context=context,
        changed_fields=["body", "details", "document"],
        metadata={
            "patient": str(patient.pk),
            "kind": kind,
            "template": str(template.pk) if template is not None else None,
            "code": document.verification_code,
            "sha256": document.sha256,
        },
    )
    return certificate


def certificate_pdf_read(*, certificate: Certificate, actor: User, context: AuditContext | None = None) -> bytes:
    require_capability(actor, "clinical.view", "view certificates")
    document = SignedDocument.objects.get(pk=certificate.document_id)
    return signed_document_read(document=document, actor=actor, action="certificate.download", context=context)
