"""The public /verify/<code> page on the base domain: facts without PHI, upload match/mismatch,
unknown codes, rate limiting."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from clinical import services as clinical
from clinics import verification
from tests.clinical.clinical_helpers import (
    REG_NO,
    draft_visit,
    make_patient,
    signed_prescription,
    signing_doctor,
)

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)

PUBLIC_HOST = "testserver.local"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


def _public(**kwargs):
    return Client(HTTP_HOST=PUBLIC_HOST, **kwargs)


def _signed(seeded):
    patient = make_patient(seeded, given_name="Priyanka", family_name="Chaudhary", phone="+919812345678")
    visit = draft_visit(seeded, patient, diagnoses=[{"text": "Migraine", "icd10": "G43.9"}])
    prescription = signed_prescription(seeded, patient, visit=visit)
    with tenant_context(seeded.clinic):
        pdf = clinical.prescription_pdf_read(prescription=prescription, actor=signing_doctor(seeded))
    return prescription, pdf


def _upload(client, code, data, name="copy.pdf"):
    return client.post(f"/verify/{code}", {"document": SimpleUploadedFile(name, data, "application/pdf")})


def test_verify_page_confirms_type_clinic_and_date_without_phi(clinic_a):
    prescription, _ = _signed(clinic_a)
    code = prescription.document.verification_code
    with tenant_context(clinic_a.clinic):
        mrn = prescription.patient.mrn
    response = _public().get(f"/verify/{code}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Prescription" in body and clinic_a.clinic.name in body and code in body
    assert prescription.signed_at.strftime("%Y") in body
    for phi in ("Priyanka", "Chaudhary", "9812345678", "Paracetamol", "Migraine", REG_NO, "Doctor Alpha", mrn):
        assert phi not in body, phi
    assert response["Cache-Control"] == "no-store"


def test_uploaded_copy_matches_or_does_not(clinic_a):
    prescription, pdf = _signed(clinic_a)
    code = prescription.document.verification_code
    client = _public()
    matched = _upload(client, code, pdf)
    assert matched.status_code == 200 and "The file matches" in matched.content.decode()
    tampered = pdf.replace(b"Paracetamol", b"Paracetamoi", 1) if b"Paracetamol" in pdf else pdf + b"\n%tampered"
    mismatched = _upload(client, code, tampered)
    assert mismatched.status_code == 200 and "does not match" in mismatched.content.decode()
    assert "Priyanka" not in mismatched.content.decode()


def test_non_pdf_and_missing_uploads_are_explained(clinic_a):
    prescription, _ = _signed(clinic_a)
    code = prescription.document.verification_code
    client = _public()
    not_pdf = _upload(client, code, b"<html>hello</html>", name="x.pdf")
    assert not_pdf.status_code == 400 and "not a PDF" in not_pdf.content.decode()
    missing = client.post(f"/verify/{code}", {})
    assert missing.status_code == 400 and "Choose the PDF" in missing.content.decode()


def test_unknown_and_malformed_codes_give_a_404_page(clinic_a):
    client = _public()
    for code in ("RX-2222222", "RX-ZZZZZZ", "nonsense", "RX-0O1IL0"):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404, code
        assert "We do not know this code" in response.content.decode()
    assert _upload(client, "RX-ZZZZZZ", b"%PDF-1.7").status_code == 404


def test_codes_are_normalised_to_the_canonical_form(clinic_a):
    prescription, _ = _signed(clinic_a)
    code = prescription.document.verification_code
    client = _public()
    lower = client.get(f"/verify/{code.lower().replace('-', '')}")
    assert lower.status_code == 302 and lower["Location"] == f"/verify/{code}"
    index = client.get("/verify/", {"code": code.lower()})
    assert index.status_code == 302 and index["Location"] == f"/verify/{code}"
    assert client.get("/verify/").status_code == 200
    assert client.get("/verify/", {"code": "??"}).status_code == 400


def test_uploads_are_rate_limited_per_ip(clinic_a):
    prescription, pdf = _signed(clinic_a)
    code = prescription.document.verification_code
    client = _public(REMOTE_ADDR="203.0.113.9")
    for _ in range(verification.UPLOAD_LIMIT):
        assert _upload(client, code, pdf).status_code == 200
    limited = _upload(client, code, pdf)
    assert limited.status_code == 429 and "Too many checks" in limited.content.decode()
    assert _upload(_public(REMOTE_ADDR="203.0.113.10"), code, pdf).status_code == 200
    assert client.get(f"/verify/{code}").status_code == 200  # reading is not limited


def test_superseded_prescription_says_a_newer_version_exists(clinic_a):
    prescription, _ = _signed(clinic_a)
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        revision = clinical.prescription_revise(prescription=prescription, actor=doctor)
        clinical.prescription_sign(prescription=revision, actor=doctor)
    body = _public().get(f"/verify/{prescription.document.verification_code}").content.decode()
    assert "newer version" in body


def test_verify_is_not_served_on_a_clinic_host(clinic_a, client_for):
    prescription, _ = _signed(clinic_a)
    response = client_for(clinic_a).get(f"/verify/{prescription.document.verification_code}")
    assert response.status_code in (302, 404)
