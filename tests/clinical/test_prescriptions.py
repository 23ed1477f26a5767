"""Prescriptions: drafts, validation, signing (registration number, PDF, verification, formulary),
immutability, revisions that supersede, access by capability and location, the HTML pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from audit.models import AuditEvent
from clinical import services as clinical
from clinical.models import FormularyDrug, Prescription
from clinical.selectors import formulary_search
from clinics.models import DocumentVerification
from clinics.verification import ALPHABET, CODE_LENGTH
from documents.models import SignedDocument
from tests.clinical.clinical_helpers import (
    HINDI,
    ITEM,
    draft_prescription,
    draft_visit,
    make_patient,
    pdf_text,
    restrict,
    signed_prescription,
    signing_doctor,
    staff,
)

pytestmark = pytest.mark.usefixtures("clinic_files")
from tests.clinical.clinical_helpers import clinic_files  # noqa: E402, F401  (fixture)


def _sign(seeded, prescription, actor=None):
    with tenant_context(seeded.clinic):
        return clinical.prescription_sign(prescription=prescription, actor=actor or signing_doctor(seeded))


@pytest.mark.parametrize("frequency", ["1-0-1", "1-1-1-1", "½-0-½", "0-0-1", "OD", "bd", "SOS", "1 - 0 - 1"])
def test_valid_frequencies_are_accepted(clinic_a, frequency):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a), items=[{**ITEM, "frequency": frequency}])
    with tenant_context(clinic_a.clinic):
        assert prescription.items.get().frequency in {frequency.upper(), frequency.replace(" ", "")}


@pytest.mark.parametrize("frequency", ["1-0", "0-0-0", "twice", "1-0-1-1-1", "a-b-c"])
def test_invalid_frequencies_are_refused_on_their_row(clinic_a, frequency):
    with pytest.raises(ValidationError) as caught:
        draft_prescription(clinic_a, make_patient(clinic_a), items=[ITEM, {**ITEM, "frequency": frequency}])
    assert list(caught.value.message_dict) == ["items.1.frequency"]


def test_a_line_needs_a_drug_name(clinic_a):
    with pytest.raises(ValidationError) as caught:
        draft_prescription(clinic_a, make_patient(clinic_a), items=[{**ITEM, "drug_name": ""}])
    assert "items.0.drug_name" in caught.value.message_dict


def test_signing_renders_stores_and_publishes_the_prescription(clinic_a):
    patient = make_patient(clinic_a)
    prescription = signed_prescription(clinic_a, patient)
    with tenant_context(clinic_a.clinic):
        stored = Prescription.objects.select_related("document", "prescriber").get(pk=prescription.pk)
        assert stored.status == Prescription.Status.SIGNED and stored.signed_at is not None
        document = stored.document
        assert document is not None and document.kind == "prescription" and document.patient_id == patient.pk
        code = document.verification_code
        prefix, _, rest = code.partition("-")
        assert prefix == "RX" and len(rest) == CODE_LENGTH and set(rest) <= set(ALPHABET)
        assert len(document.sha256) == 64 and document.size > 1000
        event = AuditEvent.objects.get(action="prescription.sign", object_id=str(prescription.pk))
        assert event.metadata["code"] == code and "Paracetamol" not in str(event.metadata)
    with schema_context(get_public_schema_name()):
        published = DocumentVerification.objects.get(code=code)
    assert published.clinic_id == clinic_a.clinic.pk
    assert published.sha256 == document.sha256 and published.kind == "prescription"


def test_signing_teaches_the_formulary(clinic_a):
    patient = make_patient(clinic_a)
    signed_prescription(clinic_a, patient)
    signed_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "paracetamol", "duration": "3 days"}])
    draft_prescription(clinic_a, patient, items=[{**ITEM, "drug_name": "Unsigned-drug", "free_text": True}])
    with tenant_context(clinic_a.clinic):
        drug = FormularyDrug.objects.get(name__iexact="paracetamol")
        assert drug.use_count == 2 and drug.default_frequency == "1-0-1" and drug.default_duration == "3 days"
        assert not FormularyDrug.objects.filter(name="Unsigned-drug").exists()
        assert [d.pk for d in formulary_search("para")] == [drug.pk]
        assert formulary_search("ibu") == [] and formulary_search("p") == []
        item = Prescription.objects.filter(patient=patient, status="signed").first().items.get()
        assert item.drug_id == drug.pk


def test_prescriber_without_registration_number_cannot_sign(clinic_a):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    doctor = staff(clinic_a, "doctor", registration_number="")
    with pytest.raises(ValidationError, match="registration number is missing"):
        _sign(clinic_a, prescription, actor=doctor)
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=prescription.pk).status == Prescription.Status.DRAFT
        assert not SignedDocument.objects.exists()


def test_nurse_and_pharmacist_cannot_sign_prescriptions(clinic_a, client_for):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    for role in ("nurse", "pharmacist", "front_desk"):
        with pytest.raises(PermissionDenied):
            _sign(clinic_a, prescription, actor=staff(clinic_a, role, registration_number="N-1"))
        assert client_for(clinic_a, role).post(f"/prescriptions/{prescription.pk}/sign").status_code == 403
    with pytest.raises(PermissionDenied):
        with tenant_context(clinic_a.clinic):
            clinical.prescription_create(
                patient=make_patient(clinic_a),
                actor=staff(clinic_a, "nurse"),
                location=clinic_a.locations[0],
                items=[ITEM],
            )


def test_signed_prescription_is_immutable(clinic_a):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a))
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError, match="Revise it"):
            clinical.prescription_update(prescription=prescription, actor=doctor, general_advice="changed")
        with pytest.raises(ValidationError, match="Revise it"):
            clinical.prescription_update(prescription=prescription, actor=doctor, items=[{**ITEM, "dose": "2 tab"}])
        with pytest.raises(ValidationError, match="already signed"):
            clinical.prescription_sign(prescription=prescription, actor=doctor)
        assert prescription.items.get().dose == "1 tab"


def test_revise_creates_v2_and_signing_it_supersedes_v1(clinic_a, client_for):
    v1 = signed_prescription(clinic_a, make_patient(clinic_a))
    doctor = signing_doctor(clinic_a)
    with tenant_context(clinic_a.clinic):
        v2 = clinical.prescription_revise(prescription=v1, actor=doctor)
        assert clinical.prescription_revise(prescription=v1, actor=doctor).pk == v2.pk  # one draft revision
        assert (v2.version, v2.previous_id, v2.status) == (2, v1.pk, "draft")
        assert v2.items.get().drug_name == "Paracetamol"
        assert Prescription.objects.get(pk=v1.pk).status == "signed"  # still valid until v2 is signed
        clinical.prescription_update(prescription=v2, actor=doctor, items=[{**ITEM, "dose": "2 tab"}])
        clinical.prescription_sign(prescription=v2, actor=doctor)
        assert Prescription.objects.get(pk=v1.pk).status == "superseded"
        assert Prescription.objects.get(pk=v2.pk).status == "signed"
        assert Prescription.objects.get(pk=v1.pk).items.get().dose == "1 tab"
        with pytest.raises(ValidationError, match="current signed version"):
            clinical.prescription_revise(prescription=Prescription.objects.get(pk=v1.pk), actor=doctor)
        v1_code = SignedDocument.objects.get(pk=v1.document_id).verification_code
        assert AuditEvent.objects.filter(action="prescription.supersede", object_id=str(v1.pk)).exists()
        pdf = clinical.prescription_pdf_read(prescription=Prescription.objects.get(pk=v2.pk), actor=doctor)
    assert f"replaces prescription {v1_code}" in pdf_text(pdf)
    page = client_for(clinic_a, "doctor").get(f"/prescriptions/{v1.pk}/").content.decode()
    assert "Superseded" in page and f"/prescriptions/{v2.pk}/" in page


def test_prescription_for_a_visit_must_be_the_same_patient(clinic_a):
    visit = draft_visit(clinic_a, make_patient(clinic_a))
    with pytest.raises(ValidationError, match="another patient"):
        draft_prescription(clinic_a, make_patient(clinic_a), visit=visit)


def test_pharmacist_reads_prescriptions_but_front_desk_does_not(clinic_a, client_for):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a))
    pharmacist = client_for(clinic_a, "pharmacist")
    assert pharmacist.get(f"/prescriptions/{prescription.pk}/").status_code == 200
    assert pharmacist.get(f"/prescriptions/{prescription.pk}/pdf").status_code == 200
    front = client_for(clinic_a, "front_desk")
    for url in (f"/prescriptions/{prescription.pk}/", f"/prescriptions/{prescription.pk}/pdf", "/prescriptions/"):
        assert front.get(url).status_code == 403, url


def test_pdf_download_streams_the_decrypted_pdf_and_is_audited(clinic_a, client_for):
    prescription = signed_prescription(clinic_a, make_patient(clinic_a, given_name="Meena"))
    response = client_for(clinic_a, "nurse").get(f"/prescriptions/{prescription.pk}/pdf?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    code = prescription.document.verification_code
    assert response["Content-Disposition"] == f'attachment; filename="prescription-{code}.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert "Meena" in pdf_text(response.content) and HINDI in pdf_text(response.content)
    with tenant_context(clinic_a.clinic):
        event = AuditEvent.objects.get(action="prescription.download")
        assert event.actor_id == clinic_a.users["nurse"].pk
        assert event.object_id == str(prescription.document_id)


def test_draft_has_no_pdf(clinic_a, client_for):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    assert client_for(clinic_a, "doctor").get(f"/prescriptions/{prescription.pk}/pdf").status_code == 404


def test_other_location_and_other_clinic_prescriptions_are_404(clinic_a, clinic_b, client_for):
    patient = make_patient(clinic_a)
    here = draft_prescription(clinic_a, patient, location=0)
    there = signed_prescription(clinic_a, patient, location=1)
    foreign = signed_prescription(clinic_b, make_patient(clinic_b))
    restrict(clinic_a, "doctor", 0)
    client = client_for(clinic_a, "doctor")
    assert client.get(f"/prescriptions/{here.pk}/").status_code == 200
    for prescription in (there, foreign):
        for suffix in ("", "pdf", "edit"):
            assert client.get(f"/prescriptions/{prescription.pk}/{suffix}").status_code == 404
        assert client.post(f"/prescriptions/{prescription.pk}/revise").status_code == 404
    listing = client.get("/prescriptions/").content.decode()
    assert f"/prescriptions/{here.pk}/" in listing and f"/prescriptions/{there.pk}/" not in listing


def _form_data(seeded, rows, **extra):
    data = {
        "location": str(seeded.locations[0].pk),
        "general_advice": "Rest",
        "general_advice_hi": "आराम करें",
        "print_hindi": "on",
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"items-{index}-{key}"] = value
    data.update(extra)
    return data


def test_doctor_writes_signs_and_revises_through_the_pages(clinic_a, client_for):
    patient = make_patient(clinic_a)
    visit = draft_visit(clinic_a, patient)
    client = client_for(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        type(clinic_a.users["doctor"]).objects.filter(pk=clinic_a.users["doctor"].pk).update(
            registration_number="KMC-1"
        )
    form = client.get(f"/patients/{patient.pk}/prescriptions/new?visit={visit.pk}")
    assert form.status_code == 200 and "data-formset-template" in form.content.decode()
    response = client.post(
        f"/patients/{patient.pk}/prescriptions/new?visit={visit.pk}",
        _form_data(clinic_a, [ITEM, {"drug_name": "", "frequency": ""}]),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    with tenant_context(clinic_a.clinic):
        prescription = Prescription.objects.get(patient=patient)
        assert prescription.visit_id == visit.pk and prescription.items.count() == 1
    detail = client.get(response["Location"]).content.decode()
    assert "Paracetamol" in detail and HINDI in detail and "Sign prescription" in detail
    assert client.post(f"/prescriptions/{prescription.pk}/sign").status_code == 302
    signed = client.get(f"/prescriptions/{prescription.pk}/").content.decode()
    assert "Open PDF" in signed and "Revise" in signed and "Sign prescription" not in signed
    revised = client.post(f"/prescriptions/{prescription.pk}/revise")
    assert revised.status_code == 302 and revised["Location"].endswith("/edit")
    edit = client.get(revised["Location"])
    assert edit.status_code == 200 and 'value="Paracetamol"' in edit.content.decode()


def test_prescription_form_reports_errors_on_the_row(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        f"/patients/{patient.pk}/prescriptions/new", _form_data(clinic_a, [{**ITEM, "frequency": "thrice"}])
    )
    assert response.status_code == 400
    assert "is not a frequency we understand" in response.content.decode()
    empty = client_for(clinic_a, "doctor").post(f"/patients/{patient.pk}/prescriptions/new", _form_data(clinic_a, []))
    assert empty.status_code == 400 and "Add at least one medicine" in empty.content.decode()


def test_sign_without_registration_number_shows_a_clear_message(clinic_a, client_for):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    staff(clinic_a, "doctor", registration_number="")
    client = client_for(clinic_a, "doctor")
    page = client.post(f"/prescriptions/{prescription.pk}/sign", follow=True).content.decode()
    assert "registration number is missing" in page


def test_formulary_search_endpoint_needs_prescriptions_write(clinic_a, client_for):
    signed_prescription(clinic_a, make_patient(clinic_a))
    results = client_for(clinic_a, "doctor").get("/formulary/search", {"q": "parac"}).json()["results"]
    assert results[0]["name"] == "Paracetamol" and results[0]["frequency"] == "1-0-1"
    assert client_for(clinic_a, "pharmacist").get("/formulary/search", {"q": "parac"}).status_code == 403


def test_script_in_patient_name_and_drug_is_escaped_on_prescription_pages(clinic_a, client_for):
    patient = make_patient(clinic_a, given_name="<script>alert(1)</script>")
    prescription = draft_prescription(
        clinic_a, patient, items=[{**ITEM, "drug_name": "<b>Evil</b>", "free_text": True}]
    )
    client = client_for(clinic_a, "doctor")
    for url in (f"/prescriptions/{prescription.pk}/", f"/prescriptions/{prescription.pk}/edit", "/prescriptions/"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body and "<b>Evil</b>" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url


def _counts(seeded):
    with tenant_context(seeded.clinic):
        documents = SignedDocument.objects.count()
    with schema_context(get_public_schema_name()):
        published = DocumentVerification.objects.filter(clinic=seeded.clinic).count()
    return documents, published


def test_failed_rendering_leaves_the_draft_untouched(clinic_a, monkeypatch):
    import docos.pdf

    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    before = _counts(clinic_a)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(docos.pdf, "render_pdf", broken)
    with pytest.raises(RuntimeError):
        _sign(clinic_a, prescription)
    assert _counts(clinic_a) == before
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=prescription.pk).status == "draft"
        assert not FormularyDrug.objects.exists()


def test_public_verification_row_rolls_back_with_the_signing(clinic_a, monkeypatch):
    prescription = draft_prescription(clinic_a, make_patient(clinic_a))
    before = _counts(clinic_a)
    real_audit = clinical.audit_record

    def failing_audit(**kwargs):
        if kwargs.get("action") == "prescription.sign":
            raise RuntimeError("audit store unavailable")
        return real_audit(**kwargs)

    monkeypatch.setattr(clinical, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        _sign(clinic_a, prescription)
    assert _counts(clinic_a) == before  # neither the tenant's document nor the public routing row
    with tenant_context(clinic_a.clinic):
        assert Prescription.objects.get(pk=prescription.pk).status == "draft"
