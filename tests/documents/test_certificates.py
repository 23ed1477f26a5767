"""Certificates: only doctors with certificates.sign and a registration number sign; the PDF is
verifiable; dates are checked; the editor previews; the API creates, lists and downloads."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from audit.models import AuditEvent
from clinics.models import DocumentVerification
from docos import storage
from documents import consents
from documents.models import Certificate
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import (  # noqa: F401
    REG_NO,
    clinic_files,
    make_patient,
    pdf_text,
    signing_doctor,
    staff,
)
from tests.clock import CLINIC_MORNING
from tests.documents.documents_helpers import certificate_template

# Certificate dates are checked against the clinic's "today": the clock is pinned (tests/clock.py), so a
# run that crosses midnight cannot sign with one date and expect another.
pytestmark = pytest.mark.usefixtures("clinic_files", "clock")

TODAY = CLINIC_MORNING.date()


def _sign(seeded, patient, actor=None, **kwargs) -> Certificate:
    with tenant_context(seeded.clinic):
        return consents.certificate_sign(patient=patient, actor=actor or signing_doctor(seeded), **kwargs)


def _pdf(seeded, certificate: Certificate) -> bytes:
    with tenant_context(seeded.clinic):
        return storage.read_verified(
            seeded.clinic, name=certificate.document.storage_name, sha256=certificate.document.sha256
        )


def test_sick_leave_certificate_prints_the_text_dates_doctor_and_verification_code(clinic_a):
    patient = make_patient(clinic_a)
    template = certificate_template(clinic_a)
    certificate = _sign(
        clinic_a,
        patient,
        template=template,
        from_date=TODAY,
        to_date=TODAY + dt.timedelta(days=2),
        diagnosis="Acute gastroenteritis",
    )
    start, end = f"{TODAY:%d %b %Y}", f"{TODAY + dt.timedelta(days=2):%d %b %Y}"
    assert certificate.kind == "sick_leave"
    assert certificate.body == (
        f"Asha Verma was under my care for Acute gastroenteritis and needs rest from {start} to {end} (3 days)."
    )
    assert certificate.details == {
        "from_date": TODAY.isoformat(),
        "to_date": (TODAY + dt.timedelta(days=2)).isoformat(),
        "days": 3,
        "diagnosis": "Acute gastroenteritis",
    }
    code = certificate.document.verification_code
    assert code.startswith("MC-")
    text = pdf_text(_pdf(clinic_a, certificate))
    assert "Medical certificate (sick leave)" in text
    assert f"Reg. No. {REG_NO}" in text and "MBBS, MD" in text
    assert f"{start} to {end} (3 days)" in text
    assert f"Verification code {code}" in text


def test_verification_row_carries_the_pdfs_hash(clinic_a):
    certificate = _sign(
        clinic_a, make_patient(clinic_a), kind="fitness", body="Fit from {{ from_date }}.", from_date=TODAY
    )
    digest = hashlib.sha256(_pdf(clinic_a, certificate)).hexdigest()
    with schema_context(get_public_schema_name()):
        row = DocumentVerification.objects.get(code=certificate.document.verification_code)
    assert row.kind == "certificate" and row.sha256 == digest == certificate.document.sha256


@pytest.mark.parametrize("role", ["nurse", "administrator", "front_desk"])
def test_signing_requires_certificates_sign(clinic_a, role):
    with pytest.raises(PermissionDenied):
        _sign(clinic_a, make_patient(clinic_a), actor=staff(clinic_a, role), kind="custom", body="Text")


def test_a_doctor_without_a_registration_number_cannot_sign(clinic_a):
    doctor = staff(clinic_a, "doctor", registration_number="")
    with pytest.raises(ValidationError, match="registration number is missing"):
        _sign(clinic_a, make_patient(clinic_a), actor=doctor, kind="custom", body="Text")


def test_dates_and_placeholders_are_checked_together(clinic_a):
    template = certificate_template(clinic_a)
    with pytest.raises(ValidationError) as caught:
        _sign(
            clinic_a, make_patient(clinic_a), template=template, from_date=TODAY, to_date=TODAY - dt.timedelta(days=1)
        )
    errors = caught.value.message_dict
    assert errors["to_date"] == ["The last day cannot be before the first day."]
    assert errors["diagnosis"] == ["The certificate's text names the illness: enter it."]

    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, make_patient(clinic_a), kind="sick_leave", body="Rest advised.")
    assert caught.value.message_dict == {
        "from_date": ["Enter the first day of leave."],
        "to_date": ["Enter the last day of leave."],
    }
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, make_patient(clinic_a), kind="fitness", body="Fit to work.")
    assert caught.value.message_dict == {"from_date": ["Enter the date the patient is fit to resume from."]}
    with pytest.raises(ValidationError) as caught:
        _sign(clinic_a, make_patient(clinic_a), kind="custom", body="Owes {{ fee }}")
    assert caught.value.message_dict["body"][0].startswith("Unknown placeholder {{ fee }}")


def test_signing_is_audited_and_the_download_too(clinic_a):
    certificate = _sign(clinic_a, make_patient(clinic_a), kind="custom", body="{{ patient_name }} attended today.")
    with tenant_context(clinic_a.clinic):
        consents.certificate_pdf_read(certificate=certificate, actor=staff(clinic_a, "nurse"))
        sign = AuditEvent.objects.get(action="certificate.sign", object_id=str(certificate.pk))
        download = AuditEvent.objects.get(action="certificate.download")
    assert sign.metadata["code"] == certificate.document.verification_code and "Asha" not in str(sign.metadata)
    assert download.actor_id == clinic_a.users["nurse"].pk


# --- pages ---------------------------------------------------------------------------------------


def test_doctor_previews_then_signs_in_the_editor(clinic_a, client_for):
    signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    template = certificate_template(clinic_a)
    web = client_for(clinic_a, "doctor")

    editor = web.get(f"/patients/{patient.pk}/certificates/new", {"template": template.pk})
    assert editor.status_code == 200
    assert "{{ diagnosis }}" in editor.content.decode()  # the template text, still with placeholders

    form = {
        "template": str(template.pk),
        "kind": "sick_leave",
        "from_date": TODAY.isoformat(),
        "to_date": (TODAY + dt.timedelta(days=1)).isoformat(),
        "diagnosis": "Migraine",
        "body": template.body,
    }
    preview = web.post(f"/patients/{patient.pk}/certificates/new", {**form, "action": "preview"})
    assert preview.status_code == 200
    assert "Asha Verma was under my care for Migraine" in preview.content.decode()
    with tenant_context(clinic_a.clinic):
        assert not Certificate.objects.filter(patient=patient).exists()

    signed = web.post(f"/patients/{patient.pk}/certificates/new", {**form, "action": "sign"})
    assert signed.status_code == 302
    with tenant_context(clinic_a.clinic):
        certificate = Certificate.objects.select_related("document").get(patient=patient)
    assert signed["Location"] == f"/certificates/{certificate.pk}/"
    assert certificate.document.verification_code in web.get(signed["Location"]).content.decode()
    pdf = web.get(f"/certificates/{certificate.pk}/pdf")
    assert pdf["Content-Disposition"].startswith('attachment; filename="certificate-MC-')


def test_editor_shows_validation_messages(clinic_a, client_for):
    signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        f"/patients/{patient.pk}/certificates/new", {"kind": "sick_leave", "body": "Rest.", "action": "sign"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the first day of leave." in html and "Enter the last day of leave." in html


def test_editor_warns_a_doctor_without_registration_number(clinic_a, client_for):
    staff(clinic_a, "doctor", registration_number="")
    patient = make_patient(clinic_a)
    html = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/certificates/new").content.decode()
    assert "registration number is missing" in html


def test_nurse_reads_certificates_but_cannot_open_the_editor(clinic_a, client_for):
    patient = make_patient(clinic_a)
    certificate = _sign(clinic_a, patient, kind="custom", body="{{ patient_name }} attended today.")
    web = client_for(clinic_a, "nurse")
    assert web.get(f"/patients/{patient.pk}/certificates/new").status_code == 403
    assert web.get("/certificates/templates/").status_code == 403
    assert certificate.document.verification_code in web.get(f"/patients/{patient.pk}/certificates").content.decode()
    assert web.get(f"/certificates/{certificate.pk}/pdf").status_code == 200
    assert client_for(clinic_a, "front_desk").get(f"/certificates/{certificate.pk}/").status_code == 403


def test_another_clinics_certificate_is_404(clinic_a, clinic_b, client_for):
    certificate = _sign(clinic_a, make_patient(clinic_a), kind="custom", body="Attended.")
    web = client_for(clinic_b, "owner")
    assert web.get(f"/certificates/{certificate.pk}/").status_code == 404
    assert web.get(f"/certificates/{certificate.pk}/pdf").status_code == 404


# --- API -----------------------------------------------------------------------------------------


def test_api_creates_lists_and_downloads_certificates(clinic_a, client_for):
    signing_doctor(clinic_a)
    patient = make_patient(clinic_a)
    auth = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    client = client_for(clinic_a)
    created = client.post(
        "/api/v1/certificates",
        {
            "patient": str(patient.pk),
            "kind": "fitness",
            "body": "{{ patient_name }} is fit to resume work from {{ from_date }}.",
            "from_date": TODAY.isoformat(),
        },
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "fitness" and body["verification_code"].startswith("MC-")
    assert body["body"] == f"Asha Verma is fit to resume work from {TODAY:%d %b %Y}."
    listed = client.get(f"/api/v1/certificates?patient={patient.pk}&kind=fitness", **auth).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    pdf = client.get(body["pdf_url"], **auth)
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert client.patch(f"/api/v1/certificates/{body['id']}", {}, **auth).status_code == 405


def test_api_refuses_certificates_from_roles_without_certificates_sign(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = bearer(make_token(clinic_a, clinic_a.users["nurse"]))
    client = client_for(clinic_a)
    response = client.post(
        "/api/v1/certificates",
        {"patient": str(patient.pk), "kind": "custom", "body": "Text"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 403
    assert client.get("/api/v1/certificates", **auth).status_code == 200  # nurses read them


def test_api_reports_a_missing_registration_number(clinic_a, client_for):
    staff(clinic_a, "doctor", registration_number="")
    patient = make_patient(clinic_a)
    response = client_for(clinic_a).post(
        "/api/v1/certificates",
        {"patient": str(patient.pk), "kind": "custom", "body": "Text"},
        content_type="application/json",
        **bearer(make_token(clinic_a, clinic_a.users["doctor"])),
    )
    assert response.status_code == 400
    assert "registration number is missing" in response.json()["error"]["fields"]["non_field_errors"][0]
