"""The consent pages: choosing the form, the tablet signing screen, the signed record and its PDF."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from documents.models import ConsentForm
from tests.clinical.clinical_helpers import clinic_files, make_patient, pdf_text, staff  # noqa: F401
from tests.documents.documents_helpers import SIGNATURE, consent_template, data_url, signature_png

pytestmark = pytest.mark.usefixtures("clinic_files")


def _no_inline_code(html: str) -> None:
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers


def test_nurse_takes_a_consent_from_choosing_the_form_to_the_signed_pdf(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    web = client_for(clinic_a, "nurse")

    start = web.get(f"/patients/{patient.pk}/consents/new")
    assert start.status_code == 200
    assert "Procedure consent" in start.content.decode()

    sign_page = web.get(
        f"/patients/{patient.pk}/consents/new", {"template": template.pk, "procedure": "Ear lobe repair"}
    )
    assert sign_page.status_code == 200
    html = sign_page.content.decode()
    assert "I, Asha Verma, agree to Ear lobe repair at Alpha Clinic" in html
    assert "data-signature-canvas" in html and "/static/js/signature.js" in html
    assert 'value="Asha Verma"' in html  # the patient signs for themselves by default
    _no_inline_code(html)

    response = web.post(
        f"/patients/{patient.pk}/consents/new",
        {
            "template": template.pk,
            "procedure": "Ear lobe repair",
            "signer_relation": "self",
            "signer_name": "Asha Verma",
            "witness_name": "Ravi Kumar",
            "signature": SIGNATURE,
        },
    )
    assert response.status_code == 302
    with tenant_context(clinic_a.clinic):
        consent = ConsentForm.objects.select_related("document").get(patient=patient)
    assert response["Location"] == f"/consents/{consent.pk}/"

    detail = web.get(response["Location"]).content.decode()
    assert consent.document.verification_code in detail and "Ravi Kumar" in detail
    assert "cannot be changed" in detail

    pdf = web.get(f"/consents/{consent.pk}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Disposition"] == f'attachment; filename="consent-{consent.document.verification_code}.pdf"'
    data = b"".join(pdf.streaming_content)
    assert data.startswith(b"%PDF") and "Ear lobe repair" in pdf_text(data)
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="consent.download", actor_id=clinic_a.users["nurse"].pk).exists()

    listing = web.get(f"/patients/{patient.pk}/consents").content.decode()
    assert consent.document.verification_code in listing


def test_a_blank_signature_keeps_the_form_and_asks_to_sign(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        f"/patients/{patient.pk}/consents/new",
        {
            "template": template.pk,
            "procedure": "Suturing",
            "signer_relation": "self",
            "witness_name": "Ravi Kumar",
            "signature": data_url(signature_png(blank=True)),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The signature box is empty" in html
    assert 'value="Ravi Kumar"' in html  # what was typed stays
    assert 'name="signature" value=""' in html  # the signer signs again
    with tenant_context(clinic_a.clinic):
        assert not ConsentForm.objects.filter(patient=patient).exists()


def test_signing_screen_for_a_minor_starts_with_the_guardian(clinic_a, client_for, clock):
    today = timezone.localdate()  # pinned (tests/clock.py): never 29 February, which other years lack
    child = make_patient(
        clinic_a,
        given_name="Riya",
        date_of_birth=today.replace(year=today.year - 6),
        guardian_name="Sunita Sharma",
    )
    template = consent_template(clinic_a, kind="photography", body="Photos of {{ patient_name }} may be taken.")
    html = (
        client_for(clinic_a, "nurse")
        .get(f"/patients/{child.pk}/consents/new", {"template": template.pk})
        .content.decode()
    )
    assert re.search(r'<input[^>]*value="guardian"[^>]*checked', html)
    assert not re.search(r'<input[^>]*value="self"[^>]*checked', html)
    assert 'value="Sunita Sharma"' in html
    assert "a parent or guardian signs" in html


def test_procedure_consent_asks_for_the_procedure_before_signing(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    response = client_for(clinic_a, "nurse").get(f"/patients/{patient.pk}/consents/new", {"template": template.pk})
    assert response.status_code == 400
    assert "Name the procedure this consent is for." in response.content.decode()


def test_no_templates_yet_shows_how_to_create_one(clinic_a, client_for):
    patient = make_patient(clinic_a)
    html = client_for(clinic_a, "nurse").get(f"/patients/{patient.pk}/consents/new").content.decode()
    assert "There are no consent forms yet." in html and "/consents/templates/new" in html


@pytest.mark.parametrize("role", ["front_desk", "pharmacist"])
def test_roles_without_consents_manage_get_403(clinic_a, client_for, role):
    patient = make_patient(clinic_a)
    web = client_for(clinic_a, role)
    assert web.get(f"/patients/{patient.pk}/consents/new").status_code == 403
    assert web.get(f"/patients/{patient.pk}/consents").status_code == 403
    assert web.get("/consents/templates/").status_code == 403


def test_another_clinics_consent_is_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    with tenant_context(clinic_a.clinic):
        from documents import consents

        consent = consents.consent_sign(
            patient=patient, template=template, actor=staff(clinic_a, "nurse"), signature=SIGNATURE, procedure="X"
        )
    web = client_for(clinic_b, "owner")
    assert web.get(f"/consents/{consent.pk}/").status_code == 404
    assert web.get(f"/consents/{consent.pk}/pdf").status_code == 404
    assert web.get(f"/patients/{patient.pk}/consents/new").status_code == 404


def test_a_signed_consent_has_no_edit_page(clinic_a, client_for):
    patient = make_patient(clinic_a)
    template = consent_template(clinic_a)
    with tenant_context(clinic_a.clinic):
        from documents import consents

        consent = consents.consent_sign(
            patient=patient, template=template, actor=staff(clinic_a, "nurse"), signature=SIGNATURE, procedure="X"
        )
    web = client_for(clinic_a, "owner")
    assert web.post(f"/consents/{consent.pk}/", {"signer_name": "Someone else"}).status_code == 405
    assert web.get(f"/consents/{consent.pk}/edit").status_code == 404


def test_clinic_writes_its_own_consent_templates(clinic_a, client_for):
    web = client_for(clinic_a, "doctor")
    response = web.post(
        "/consents/templates/new",
        {"name": "Data and WhatsApp", "kind": "data", "body": "I, {{ patient_name }}, agree to be contacted."},
    )
    assert response.status_code == 302
    listing = web.get("/consents/templates/").content.decode()
    assert "Data and WhatsApp" in listing and "v1" in listing

    bad = web.post("/consents/templates/new", {"name": "Bad", "kind": "data", "body": "Hello {{ amount }}"})
    assert bad.status_code == 400
    assert "Unknown placeholder {{ amount }}" in bad.content.decode()


def test_the_public_verify_page_confirms_a_signed_consent_without_phi(clinic_a):
    from django.core.cache import cache
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from docos import storage
    from documents import consents

    cache.clear()
    patient = make_patient(clinic_a, given_name="Priyanka", family_name="Chaudhary")
    template = consent_template(clinic_a)
    with tenant_context(clinic_a.clinic):
        consent = consents.consent_sign(
            patient=patient, template=template, actor=staff(clinic_a, "nurse"), signature=SIGNATURE, procedure="X"
        )
        pdf = storage.read_verified(clinic_a.clinic, name=consent.document.storage_name, sha256=consent.document.sha256)
    public = Client(HTTP_HOST="testserver.local")
    code = consent.document.verification_code
    page = public.get(f"/verify/{code}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Consent form" in html and "Alpha Clinic" in html and "Priyanka" not in html
    match = public.post(f"/verify/{code}", {"document": SimpleUploadedFile("consent.pdf", pdf)})
    assert match.context["result"] == "match"
    cache.clear()


def test_consent_pdf_after_crypto_shredding_is_a_clear_410(clinic_a, client_for):
    from clinics.models import Clinic
    from clinics.services import clinic_destroy_data_key
    from documents import consents

    template = consent_template(clinic_a)
    with tenant_context(clinic_a.clinic):
        consent = consents.consent_sign(
            patient=make_patient(clinic_a),
            template=template,
            actor=staff(clinic_a, "nurse"),
            signature=SIGNATURE,
            procedure="X",
        )
    clinic_destroy_data_key(clinic=Clinic.objects.get(pk=clinic_a.clinic.pk))
    response = client_for(clinic_a, "nurse").get(f"/consents/{consent.pk}/pdf")
    assert response.status_code == 410
    assert "encryption key was destroyed" in response.content.decode()


def test_certificate_templates_are_written_by_doctors(clinic_a, client_for):
    web = client_for(clinic_a, "doctor")
    response = web.post(
        "/certificates/templates/new",
        {"name": "Fitness", "kind": "fitness", "body": "{{ patient_name }} is fit from {{ from_date }}."},
    )
    assert response.status_code == 302 and response["Location"] == "/certificates/templates/"
    with tenant_context(clinic_a.clinic):
        from documents.models import CertificateTemplate

        template = CertificateTemplate.objects.get(name="Fitness")
    edit = web.post(
        f"/certificates/templates/{template.pk}/edit",
        {"name": "Fitness", "kind": "fitness", "body": "Fit from {{ from_date }}.", "is_active": ""},
    )
    assert edit.status_code == 302
    template.refresh_from_db()
    assert template.is_active is False and template.body == "Fit from {{ from_date }}."
    assert "Retired" in web.get("/certificates/templates/").content.decode()
