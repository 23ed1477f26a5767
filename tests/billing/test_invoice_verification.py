"""An issued invoice prints a verification code and QR; /verify/<code> on the public site confirms
its number, date, amount and current status, and nothing about the patient."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context
from pypdf import PdfReader

from billing import pdf, services
from clinical.models import Visit
from clinics.models import DocumentVerification
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff

pytestmark = pytest.mark.usefixtures("clock")
PUBLIC_HOST = "testserver.local"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def issued(clinic_a, in_tenant):
    set_gstin(clinic_a)
    patient = make_patient(clinic_a, given_name="Sunita", family_name="Kulkarni", state="Karnataka")
    with in_tenant(clinic_a):
        desk = staff(clinic_a, "front_desk")
        price_list(staff(clinic_a, "owner"))
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"]
        )
        draft = services.invoice_create_for_visit(actor=desk, visit=visit)
        assert draft.verification_code == ""
        invoice = services.invoice_issue(actor=desk, invoice=draft)
    return invoice


def test_issuing_gives_a_code_routed_to_the_clinic_without_a_hash(clinic_a, issued):
    assert issued.verification_code.startswith("IN-")
    with schema_context(get_public_schema_name()):
        row = DocumentVerification.objects.get(code=issued.verification_code)
    assert row.clinic_id == clinic_a.clinic.pk and row.kind == "invoice" and row.sha256 == ""


def test_the_pdf_prints_the_code_and_where_to_check_it(clinic_a, issued, in_tenant):
    with in_tenant(clinic_a):
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.invoice_pdf(issued))).pages)
    assert issued.verification_code in text and f"/verify/{issued.verification_code}" in text


def test_the_public_page_shows_the_facts_and_the_status_now_but_not_the_patient(clinic_a, issued, in_tenant):
    page = Client(HTTP_HOST=PUBLIC_HOST).get(f"/verify/{issued.verification_code}")
    html = page.content.decode()
    assert page.status_code == 200
    assert issued.number in html and "₹500.00" in html and "Issued, not paid yet" in html
    assert "Sunita" not in html and "Kulkarni" not in html
    assert "Check a copy" not in html  # no file to compare: the facts are the check
    with in_tenant(clinic_a):
        services.payment_record(actor=staff(clinic_a, "front_desk"), invoice=issued, mode="cash", amount=Decimal("500"))
    assert "Paid in full" in Client(HTTP_HOST=PUBLIC_HOST).get(f"/verify/{issued.verification_code}").content.decode()


def test_an_upload_for_an_invoice_code_is_answered_with_a_sentence(issued):
    upload = io.BytesIO(b"%PDF-1.7 anything")
    upload.name = "invoice.pdf"
    response = Client(HTTP_HOST=PUBLIC_HOST).post(f"/verify/{issued.verification_code}", {"document": upload})
    assert response.status_code == 400 and "checked by the details above" in response.content.decode()
