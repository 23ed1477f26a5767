"""The demo seed writes consent and certificate templates and one signed consent and certificate, once."""

from __future__ import annotations

import io

import pytest
from django_tenants.utils import tenant_context

from documents import consents
from documents import demo as demo_documents
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate
from tests.clinical.clinical_helpers import clinic_files, make_patient, pdf_text, signing_doctor, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("clinic_files")


def test_demo_seed_makes_templates_and_a_signed_consent_and_certificate_once(clinic_a):
    make_patient(clinic_a, given_name="Kavya")
    signing_doctor(clinic_a)

    assert demo_documents.seed(clinic_a.clinic) == 2

    with tenant_context(clinic_a.clinic):
        assert set(ConsentTemplate.objects.values_list("kind", flat=True)) == {"procedure", "photography", "data"}
        assert set(CertificateTemplate.objects.values_list("kind", flat=True)) == {"sick_leave", "fitness"}
        consent = ConsentForm.objects.get()
        certificate = Certificate.objects.get()
        assert consent.patient.given_name == "Kavya" and consent.witness_name == "Nurse Alpha Clinic"
        assert consent.prepared_by_id == clinic_a.users["nurse"].pk
        text = pdf_text(consents.consent_pdf_read(consent=consent, actor=staff(clinic_a, "doctor")))
        assert "Excision of a sebaceous cyst" in text and consent.document.verification_code in text
        assert certificate.kind == "sick_leave" and certificate.details["days"] == 3
        assert "acute viral fever" in certificate.body

    assert demo_documents.seed(clinic_a.clinic) == 0
    with tenant_context(clinic_a.clinic):
        assert ConsentTemplate.objects.count() == 6 and ConsentForm.objects.count() == 1
        assert CertificateTemplate.objects.count() == 4


def test_demo_seed_skips_the_certificate_without_a_registered_doctor(clinic_a):
    make_patient(clinic_a)
    staff(clinic_a, "owner", registration_number="")
    assert demo_documents.seed(clinic_a.clinic) == 1
    with tenant_context(clinic_a.clinic):
        assert not Certificate.objects.exists() and ConsentForm.objects.count() == 1


def test_the_demo_signature_passes_the_signature_checks():
    assert consents.decode_signature(demo_documents.demo_signature()).startswith(b"\x89PNG")


def test_demo_hindi_templates_sign_into_pdfs_set_in_devanagari(clinic_a):
    from pypdf import PdfReader

    patient = make_patient(clinic_a, given_name="Kavya")
    doctor = signing_doctor(clinic_a)
    demo_documents.seed(clinic_a.clinic)
    with tenant_context(clinic_a.clinic):
        hindi = ConsentTemplate.objects.get(name=demo_documents.CONSENT_TEMPLATES_HI[0][0])
        form = consents.consent_sign(
            patient=patient,
            template=hindi,
            actor=staff(clinic_a, "nurse"),
            signature=demo_documents.demo_signature(),
            procedure="बाएँ कंधे की गाँठ निकालना",
            doctor=doctor,
        )
        assert "बाएँ कंधे की गाँठ निकालना करवाने की सहमति" in form.rendered_text
        data = consents.consent_pdf_read(consent=form, actor=staff(clinic_a, "doctor"))
        fonts = {
            str(font["/BaseFont"])
            for page in PdfReader(io.BytesIO(data)).pages
            for font in page["/Resources"]["/Font"].values()
        }
        assert any("Noto-Sans-Devanagari" in name for name in fonts), fonts
        assert "लोकल एनेस्थीसिया" in pdf_text(data)  # the title; shaped text extracts with reordered vowel signs
        sick_leave = CertificateTemplate.objects.get(name=demo_documents.CERTIFICATE_TEMPLATES_HI[0][0])
        assert "{{ diagnosis }} से" in sick_leave.body
