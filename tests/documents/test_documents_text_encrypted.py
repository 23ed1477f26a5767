"""What consents and certificates say, and uploads' titles and file names, are stored encrypted with
the clinic's data key, bound to their row; templates stay plain (the clinic's wording, not patient data)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from documents import consents
from documents import services as documents
from documents.models import Certificate, ConsentForm, PatientDocument
from tests.clinical.clinical_helpers import clinic_files, make_patient, signing_doctor, staff  # noqa: F401
from tests.docos.crypto_helpers import assert_clinic_encrypted, assert_copies_fail
from tests.documents.documents_helpers import PDF_BYTES, SIGNATURE, certificate_template, consent_template

pytestmark = pytest.mark.usefixtures("clinic_files")

PROCEDURE = "Excision of a lipoma, right forearm"
TODAY = timezone.localdate()


def _consent(seeded, patient, template) -> ConsentForm:
    with tenant_context(seeded.clinic):
        return consents.consent_sign(
            patient=patient, template=template, actor=staff(seeded, "nurse"), signature=SIGNATURE, procedure=PROCEDURE
        )


def _certificate(seeded, patient, template) -> Certificate:
    with tenant_context(seeded.clinic):
        return consents.certificate_sign(
            patient=patient,
            actor=signing_doctor(seeded),
            template=template,
            from_date=TODAY,
            to_date=TODAY + dt.timedelta(days=2),
            diagnosis="Acute bronchitis",
        )


def _upload(seeded, patient, title="Chest X-ray, March", name="cxr-march.pdf") -> PatientDocument:
    with tenant_context(seeded.clinic):
        return documents.document_upload(
            patient=patient, actor=staff(seeded, "owner"), file=SimpleUploadedFile(name, PDF_BYTES), title=title
        )


def test_consent_text_and_procedure_are_stored_encrypted_and_bound_to_their_row(clinic_a):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    form, other = _consent(clinic_a, patient, template), _consent(clinic_a, patient, template)
    assert_clinic_encrypted(
        clinic_a.schema,
        "documents_consentform",
        form.pk,
        {"procedure": ["lipoma"], "rendered_text": ["lipoma", "Asha Verma", "risks were explained"]},
    )
    with tenant_context(clinic_a.clinic):
        stored = ConsentForm.objects.get(pk=form.pk)
        assert stored.procedure == PROCEDURE and PROCEDURE in stored.rendered_text
    # The template is the clinic's own wording: plain text, readable in SQL.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT body FROM "{clinic_a.schema}".documents_consenttemplate WHERE id = %s', [template.pk])
        assert "risks were explained" in cursor.fetchone()[0]
    assert_copies_fail(
        clinic_a, ConsentForm, "documents_consentform", ["procedure", "rendered_text"], form.pk, other.pk
    )


def test_certificate_body_and_details_are_stored_encrypted_and_bound_to_their_row(clinic_a):
    patient = make_patient(clinic_a)
    template = certificate_template(clinic_a)
    certificate, other = _certificate(clinic_a, patient, template), _certificate(clinic_a, patient, template)
    assert_clinic_encrypted(
        clinic_a.schema,
        "documents_certificate",
        certificate.pk,
        {"body": ["Acute bronchitis", "Asha Verma"], "details": ["Acute bronchitis", "diagnosis", TODAY.isoformat()]},
    )
    with tenant_context(clinic_a.clinic):
        stored = Certificate.objects.get(pk=certificate.pk)
        assert "Acute bronchitis" in stored.body and stored.details["diagnosis"] == "Acute bronchitis"
    assert_copies_fail(clinic_a, Certificate, "documents_certificate", ["body", "details"], certificate.pk, other.pk)


def test_document_title_and_file_name_are_stored_encrypted_and_bound_to_their_row(clinic_a):
    patient = make_patient(clinic_a)
    document, other = _upload(clinic_a, patient), _upload(clinic_a, patient, title="Referral", name="ref.pdf")
    assert_clinic_encrypted(
        clinic_a.schema,
        "documents_patientdocument",
        document.pk,
        {"title": ["Chest X-ray"], "original_name": ["cxr-march"]},
    )
    with tenant_context(clinic_a.clinic):
        stored = PatientDocument.objects.get(pk=document.pk)
        assert (stored.title, stored.original_name) == ("Chest X-ray, March", "cxr-march.pdf")
    assert_copies_fail(
        clinic_a, PatientDocument, "documents_patientdocument", ["title", "original_name"], document.pk, other.pk
    )


def test_document_title_longer_than_its_limit_is_refused_though_the_column_has_no_limit(clinic_a):
    with pytest.raises(ValidationError) as caught:
        _upload(clinic_a, make_patient(clinic_a), title="x" * 201)
    assert caught.value.message_dict["title"] == ["Keep the title under 200 characters."]
