"""The signed prescription PDF: what prints on it, Devanagari, escaping, encryption at rest."""

from __future__ import annotations

import io

import pytest
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from clinical.services import prescription_pdf_read
from docos import storage
from documents.models import SignedDocument
from tests.clinical.clinical_helpers import (
    HINDI,
    REG_NO,
    clinic_files,  # noqa: F401  (fixture)
    draft_visit,
    make_patient,
    pdf_text,
    signed_prescription,
    signing_doctor,
)
from tests.docos.test_pdf_kernel import recording_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("clinic_files")


def _pdf(seeded, prescription) -> bytes:
    with tenant_context(seeded.clinic):
        return prescription_pdf_read(prescription=prescription, actor=signing_doctor(seeded))


def test_signed_prescription_pdf_prints_patient_drug_doctor_code_and_hindi(clinic_a):
    patient = make_patient(clinic_a, given_name="Ramesh", family_name="Kumar", mrn="MRN-PDF-1")
    prescription = signed_prescription(clinic_a, patient, general_advice="Drink plenty of water")
    data = _pdf(clinic_a, prescription)

    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Ramesh Kumar" in text
    assert "MRN-PDF-1" in text
    assert "Paracetamol 500 mg Tablet" in text
    assert "1-0-1" in text
    assert f"Reg. No. {REG_NO}" in text
    assert "MBBS, MD" in text
    assert prescription.document.verification_code in text
    assert f"/verify/{prescription.document.verification_code}" in text
    assert HINDI in text
    assert "Drink plenty of water" in text
    assert clinic_a.clinic.name in text


def test_hindi_is_left_out_when_not_asked_for(clinic_a):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a), print_hindi=False)
    assert HINDI not in pdf_text(_pdf(clinic_a, prescription))


def test_prescription_pdf_prints_the_visit_diagnosis_and_weight(clinic_a):
    patient = make_patient(clinic_a)
    visit = draft_visit(clinic_a, patient, weight_kg=62, diagnoses=[{"text": "Acute pharyngitis", "icd10": "J02.9"}])
    prescription = signed_prescription(clinic_a, patient, visit=visit)
    text = pdf_text(_pdf(clinic_a, prescription))
    assert "Acute pharyngitis" in text and "J02.9" in text
    assert "62" in text


def test_pdf_is_one_a4_page_with_embedded_devanagari_font(clinic_a):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a))
    reader = PdfReader(io.BytesIO(_pdf(clinic_a, prescription)))
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert round(width) == 595 and round(height) == 842  # A4 in points
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("Noto-Sans-Devanagari" in font for font in fonts), fonts


def test_script_in_patient_name_prints_as_literal_text(clinic_a):
    patient = make_patient(clinic_a, given_name="<script>alert(1)</script>", family_name="Khan")
    text = pdf_text(_pdf(clinic_a, signed_prescription(clinic_a, patient)))
    assert "<script>alert(1)</script> Khan" in text


def test_stored_pdf_is_encrypted_at_rest(clinic_a):
    patient = make_patient(clinic_a, given_name="Zebulon", family_name="Quartermain")
    prescription = signed_prescription(clinic_a, patient)
    with tenant_context(clinic_a.clinic):
        document = SignedDocument.objects.get(pk=prescription.document_id)
    with storage.file_storage().open(document.storage_name, "rb") as handle:
        raw = handle.read()
    assert not raw.startswith(b"%PDF")
    assert b"%PDF" not in raw
    assert b"Zebulon" not in raw and b"Quartermain" not in raw
    decrypted = _pdf(clinic_a, prescription)
    assert decrypted.startswith(b"%PDF-")
    assert len(decrypted) == document.size
    import hashlib

    assert hashlib.sha256(decrypted).hexdigest() == document.sha256


def test_html_in_user_text_fetches_nothing_and_prints_literally(clinic_a, recording_server):  # noqa: F811
    base, seen = recording_server
    ssrf = f'<img src="{base}/notes">'
    local_file = '<img src="file:///etc/passwd">'
    patient = make_patient(clinic_a, given_name=f'<img src="{base}/name">', family_name="Das")
    visit = draft_visit(
        clinic_a,
        patient,
        notes={"plan": ssrf, "history": local_file},
        diagnoses=[{"text": f'<link rel="stylesheet" href="{base}/dx.css">', "icd10": ""}],
    )
    item = {
        "drug_name": "Amoxicillin",
        "dose": "1 capsule",
        "frequency": "1-0-1",
        "duration": "5 days",
        "instructions": ssrf,
        "instructions_hi": local_file,
    }
    prescription = signed_prescription(
        clinic_a, patient, visit=visit, items=[item], general_advice=f"{ssrf} {local_file}", print_hindi=True
    )
    data = _pdf(clinic_a, prescription)
    assert seen == []
    assert b"root:x:0:0" not in data
    text = pdf_text(data)
    assert f'<img src="{base}/notes">' in text
    assert '<img src="file:///etc/passwd">' in text
    assert f'<img src="{base}/name"> Das' in text
    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1  # only the verification QR code
