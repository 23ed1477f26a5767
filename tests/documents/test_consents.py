"""Consent forms: safe placeholders, checked signatures, guardians for minors, immutable signed PDFs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context
from PIL import Image

from audit.models import AuditEvent
from clinics.models import DocumentVerification
from docos import storage
from documents import consents
from documents.models import ConsentForm
from tests.clinical.clinical_helpers import clinic_files, make_patient, pdf_text, staff  # noqa: F401
from tests.documents.documents_helpers import (
    SIGNATURE,
    consent_template,
    data_url,
    jpeg_bytes,
    signature_png,
)

pytestmark = pytest.mark.usefixtures("clinic_files")


def _sign(seeded, patient, template, role="nurse", **kwargs) -> ConsentForm:
    kwargs.setdefault("signature", SIGNATURE)
    kwargs.setdefault("procedure", "Excision of sebaceous cyst")
    with tenant_context(seeded.clinic):
        return consents.consent_sign(patient=patient, template=template, actor=staff(seeded, role), **kwargs)


def _pdf(seeded, form: ConsentForm) -> bytes:
    with tenant_context(seeded.clinic):
        return storage.read_verified(seeded.clinic, name=form.document.storage_name, sha256=form.document.sha256)


def _minor(seeded, **fields):
    today = timezone.localdate()  # callers pin the clock (tests/clock.py): never 29 February
    defaults = {
        "given_name": "Riya",
        "family_name": "Sharma",
        "date_of_birth": today.replace(year=today.year - 9),
        "guardian_name": "Sunita Sharma",
        "guardian_relation": "Mother",
    }
    defaults.update(fields)
    return make_patient(seeded, **defaults)


# --- placeholders --------------------------------------------------------------------------------


def test_placeholders_are_filled_in_one_pass_and_values_are_not_expanded_again():
    text = "I, {{ patient_name }}, agree on {{date}}. {{ unknown }} stays."
    filled = consents.fill_placeholders(text, {"patient_name": "{{ date }} <b>", "date": "01 Jan 2026"})
    assert filled == "I, {{ date }} <b>, agree on 01 Jan 2026. {{ unknown }} stays."


def test_template_language_in_user_text_has_no_effect(clinic_a):
    patient = make_patient(clinic_a)
    body = "{% load static %}{% debug %} {{ patient_name }} {# note #} {{ patient_name|upper }}".replace(
        "{{ patient_name|upper }}", "[upper]"
    )
    template = consent_template(clinic_a, kind="photography", body=body)
    form = _sign(clinic_a, patient, template, procedure="")
    assert form.rendered_text == "{% load static %}{% debug %} Asha Verma {# note #} [upper]"


def test_unknown_or_malformed_placeholders_are_refused_when_saving_a_template(clinic_a):
    with pytest.raises(ValidationError) as caught:
        consent_template(clinic_a, body="Dear {{ patient_name }}, your {{ balance }} is due.")
    assert caught.value.message_dict["body"][0].startswith("Unknown placeholder {{ balance }}. Use: {{ patient_name }}")
    with pytest.raises(ValidationError) as caught:
        consent_template(clinic_a, body="Dear {{ patient name }}, sign here.")
    assert "is not written right" in caught.value.message_dict["body"][0]
    with pytest.raises(ValidationError) as caught:
        consent_template(clinic_a, body="Dear {{ request.user.password }}")
    assert "is not written right" in caught.value.message_dict["body"][0]


# --- signatures ----------------------------------------------------------------------------------


def test_a_real_signature_is_cropped_to_the_ink_and_re_encoded():
    png = consents.decode_signature(SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.width < 600 and image.height < 200  # cropped from the 600x200 canvas
    assert png != signature_png()


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "signature_missing", "Sign in the box before saving."),
        (data_url(signature_png(blank=True)), "signature_blank", "The signature box is empty"),
        (data_url(signature_png(dot=True)), "signature_blank", "holds only a dot"),
        ("data:image/jpeg;base64," + base64.b64encode(jpeg_bytes()).decode(), "signature_format", "must be a PNG"),
        (data_url(jpeg_bytes()), "signature_format", "is not a PNG image"),
        ("data:image/png;base64,not*base64!", "signature_format", "not valid base64"),
        (data_url(signature_png((60, 30))), "signature_dimensions", "60x30 pixels"),
        (data_url(signature_png((4000, 300))), "signature_dimensions", "between 100x40 and 3000x1500"),
        ("data:image/png;base64," + "A" * 800_000, "signature_size", "larger than 512 KB"),
    ],
    ids=["missing", "blank", "dot", "jpeg-url", "jpeg-bytes", "bad-base64", "too-small", "too-wide", "too-big"],
)
def test_bad_signatures_are_refused_with_a_reason(value, code, message):
    with pytest.raises(ValidationError) as caught:
        consents.decode_signature(value)
    assert caught.value.code == code
    assert message in caught.value.messages[0]


def test_png_that_lies_about_its_size_is_refused():
    png = bytearray(signature_png())
    png[16:20] = (2000).to_bytes(4, "big")  # IHDR width no longer matches the data (and its CRC fails)
    with pytest.raises(ValidationError) as caught:
        consents.decode_signature(bytes(png))
    assert caught.value.code == "signature_format"


# --- signing -------------------------------------------------------------------------------------


def test_signed_consent_pdf_shows_text_signer_relation_time_location_and_verification_code(clinic_a):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    form = _sign(clinic_a, patient, template, witness_name="Ravi Kumar", location=clinic_a.locations[1])

    assert form.rendered_text.startswith("I, Asha Verma, agree to Excision of sebaceous cyst at Alpha Clinic by")
    code = form.document.verification_code
    assert code.startswith("CF-")
    text = pdf_text(_pdf(clinic_a, form))
    assert "I, Asha Verma, agree to Excision of sebaceous cyst at Alpha Clinic" in text
    assert "Signed by: Patient" in text
    assert "Witness Ravi Kumar" in text
    assert f"Signed at {clinic_a.locations[1].name}" in text
    local = timezone.localtime(form.signed_at)
    assert f"Signed on {local:%d %b %Y, %H:%M}" in text
    assert f"Verification code {code}" in text
    assert f"/verify/{code}" in text
    assert "Prepared by Nurse Alpha Clinic" in text


def test_signed_pdf_embeds_the_signature_image(clinic_a):
    from pypdf import PdfReader

    form = _sign(clinic_a, make_patient(clinic_a), consent_template(clinic_a))
    page = PdfReader(io.BytesIO(_pdf(clinic_a, form))).pages[0]
    sizes = sorted(image.image.size for image in page.images)
    signature = Image.open(io.BytesIO(consents.decode_signature(SIGNATURE)))
    assert signature.size in sizes  # the cropped signature, besides the QR code


def test_hash_and_verification_row_match_the_stored_pdf(clinic_a):
    form = _sign(clinic_a, make_patient(clinic_a), consent_template(clinic_a))
    pdf = _pdf(clinic_a, form)
    digest = hashlib.sha256(pdf).hexdigest()
    assert form.document.sha256 == digest and form.document.kind == "consent"
    with schema_context(get_public_schema_name()):
        row = DocumentVerification.objects.get(code=form.document.verification_code)
    assert row.sha256 == digest and row.kind == "consent" and row.clinic_id == clinic_a.clinic.pk


def test_for_a_minor_the_guardian_signs(clinic_a, clock):
    child = _minor(clinic_a)
    template = consent_template(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, child, template, signer_relation="self")
    assert caught.value.message_dict["signer_relation"] == [
        "Riya Sharma is 9 years old: a parent or guardian signs for a minor."
    ]

    form = _sign(clinic_a, child, template, signer_relation="guardian")
    assert form.signer_name == "Sunita Sharma" and form.signer_relation == "guardian"
    text = pdf_text(_pdf(clinic_a, form))
    assert "Sunita Sharma" in text
    assert "Signed by: Parent or guardian (mother) of Riya Sharma" in text


def test_guardian_without_a_name_on_record_must_be_named(clinic_a, clock):
    child = _minor(clinic_a, guardian_name="", guardian_relation="")
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, child, consent_template(clinic_a), signer_relation="guardian")
    assert caught.value.message_dict["signer_name"] == ["Enter the name of the parent or guardian who signs."]
    form = _sign(clinic_a, child, consent_template(clinic_a), signer_relation="guardian", signer_name="Mohan Sharma")
    assert "Signed by: Parent or guardian of Riya Sharma" in pdf_text(_pdf(clinic_a, form))


def test_all_errors_are_reported_together(clinic_a):
    patient = make_patient(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _sign(
            clinic_a,
            patient,
            consent_template(clinic_a),
            procedure="",
            witness_name="Asha Verma",
            signature=data_url(signature_png(blank=True)),
        )
    errors = caught.value.message_dict
    assert set(errors) == {"procedure", "witness_name", "signature"}
    assert errors["procedure"] == ["Name the procedure this consent is for."]
    assert errors["witness_name"] == ["The witness must be someone other than the signer."]


def test_retired_templates_cannot_be_signed(clinic_a):
    template = consent_template(clinic_a)
    with tenant_context(clinic_a.clinic):
        consents.consent_template_update(template=template, actor=staff(clinic_a, "owner"), is_active=False)
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, make_patient(clinic_a), template)
    assert caught.value.message_dict["template"] == ["This template was retired; choose a current one."]


@pytest.mark.parametrize("role", ["front_desk", "pharmacist", "no_role"])
def test_only_consents_manage_prepares_consents(clinic_a, role):
    template = consent_template(clinic_a)
    with pytest.raises(PermissionDenied):
        _sign(clinic_a, make_patient(clinic_a), template, role=role)


def test_signing_is_audited_without_names_or_text(clinic_a):
    form = _sign(clinic_a, make_patient(clinic_a), consent_template(clinic_a), witness_name="Ravi Kumar")
    with tenant_context(clinic_a.clinic):
        event = AuditEvent.objects.get(action="consent.sign", object_id=str(form.pk))
    assert event.metadata["code"] == form.document.verification_code
    assert event.metadata["signer_relation"] == "self" and event.metadata["witnessed"] is True
    flat = str(event.metadata)
    assert "Asha" not in flat and "Ravi" not in flat and "sebaceous" not in flat


# --- immutability --------------------------------------------------------------------------------


def test_editing_the_template_later_leaves_signed_forms_and_pdfs_untouched(clinic_a):
    template = consent_template(clinic_a)
    form = _sign(clinic_a, make_patient(clinic_a), template)
    before = _pdf(clinic_a, form)
    with tenant_context(clinic_a.clinic):
        changed = consents.consent_template_update(
            template=template, actor=staff(clinic_a, "owner"), body="New wording for {{ patient_name }}."
        )
        form.refresh_from_db()
    assert changed == ["body", "version"] and template.version == 2
    assert form.rendered_text.startswith("I, Asha Verma, agree to")
    assert _pdf(clinic_a, form) == before


def test_a_stored_pdf_that_no_longer_matches_its_hash_is_not_served(clinic_a):
    form = _sign(clinic_a, make_patient(clinic_a), consent_template(clinic_a))
    with tenant_context(clinic_a.clinic):
        form.document.__class__.objects.filter(pk=form.document_id).update(sha256="0" * 64)
        form.refresh_from_db()
        with pytest.raises(storage.FileUnavailable, match="failed its integrity check"):
            consents.consent_pdf_read(consent=form, actor=staff(clinic_a, "nurse"))


def test_there_is_no_service_that_changes_a_signed_consent():
    writers = [name for name in dir(consents) if name.startswith("consent_") and callable(getattr(consents, name))]
    assert sorted(writers) == [
        "consent_pdf_read",
        "consent_sign",
        "consent_template_create",
        "consent_template_update",
        "consent_text",
    ]


def test_consent_signed_today_prints_the_date_in_the_locations_time_zone(clinic_a):
    with tenant_context(clinic_a.clinic):
        location = clinic_a.locations[0]
        location.timezone = "Asia/Kolkata"
        location.save()
    form = _sign(clinic_a, make_patient(clinic_a), consent_template(clinic_a), location=clinic_a.locations[0])
    local = form.signed_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert f"on {local:%d %b %Y}." in form.rendered_text
