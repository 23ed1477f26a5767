"""HTML pages for patient documents (upload, list, download), consent forms (the tablet signing
screen) and certificates (the editor), and their templates.

Thin views: parse, check the capability (decorators), call one selector or service, render.
Selectors scope everything: another clinic's or location's ids give the same 404. Files are sent
as attachments, streamed in chunks from the decrypted bytes; each download is audited.
"""

from __future__ import annotations

import io
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.guards import staff_user
from accounts.models import User
from audit.context import audit_context
from docos.http import file_unavailable_response
from docos.permissions import capability_required
from docos.storage import CHUNK_BYTES, FileUnavailable
from documents import consents, selectors
from documents import services as documents
from documents.forms import (
    CertificateForm,
    ConsentSignForm,
    ConsentStartForm,
    DocumentUploadForm,
    TemplateForm,
    apply_service_errors,
)
from documents.models import CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument
from patients.access import patient_access, records_page
from patients.models import Patient

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: Any) -> Page[Any]:
    return records_page(request, queryset, PAGE_SIZE)


def attachment_response(data: bytes, *, filename: str, content_type: str) -> FileResponse:
    """Stream `data` as a download: attachment with a safe file name, never sniffed, never cached."""
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=filename, content_type=content_type)
    response.block_size = CHUNK_BYTES
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- uploaded documents ------------------------------------------------------------------------------


@require_GET
@capability_required("documents.view")
def patient_documents(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    category = request.GET.get("category", "")
    page = _page(request, selectors.document_list(user=staff_user(request), patient=patient, category=category))
    return render(
        request,
        "documents/document_list.html",
        {
            "patient": patient,
            "page": page,
            "category": category,
            "categories": PatientDocument.Category.choices,
        },
    )


@require_http_methods(["GET", "POST"])
@capability_required("documents.upload")
def document_upload(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    default = documents.default_location(user, patient)
    status = 200
    if request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES, user=user, default_location=default)
        if form.is_valid():
            try:
                document = documents.document_upload(
                    patient=patient,
                    actor=user,
                    file=form.cleaned_data["file"],
                    title=form.cleaned_data["title"],
                    category=form.cleaned_data["category"] or PatientDocument.Category.REPORT,
                    location=form.cleaned_data["location"],
                    context=audit_context(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                messages.success(request, f"\u201c{document.title}\u201d was uploaded and stored encrypted.")
                if user.has_capability("documents.view"):
                    return redirect("documents-patient-list", patient_id=patient.pk)
                return redirect("documents-upload", patient_id=patient.pk)
        status = 400
    else:
        form = DocumentUploadForm(user=user, default_location=default)
    return render(
        request,
        "documents/upload.html",
        {
            "patient": patient,
            "form": form,
            "max_size": documents.human_size(documents.max_upload_bytes()),
            "can_view": user.has_capability("documents.view"),
        },
        status=status,
    )


@require_GET
@capability_required("documents.view")
def document_detail(request: HttpRequest, document_id: UUID) -> HttpResponse:
    document = selectors.document_access(user=staff_user(request), document_id=document_id)
    return render(
        request,
        "documents/document_detail.html",
        {"document": document, "patient": document.patient, "size": documents.human_size(document.size)},
    )


@require_GET
@capability_required("documents.view")
def document_download(request: HttpRequest, document_id: UUID) -> HttpResponseBase:
    document = selectors.document_access(user=staff_user(request), document_id=document_id)
    try:
        data = documents.document_read(document=document, actor=staff_user(request), context=audit_context(request))
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=f"/documents/{document.pk}/")
    return attachment_response(data, filename=documents.download_name(document), content_type=document.content_type)


# --- consent forms -------------------------------------------------------------------------------


@require_GET
@capability_required("consents.manage")
def patient_consents(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    page = _page(request, selectors.consent_list(user=staff_user(request), patient=patient))
    return render(request, "documents/consent_list.html", {"patient": patient, "page": page})


def _consent_signing_page(
    request: HttpRequest,
    *,
    patient: Patient,
    form: ConsentSignForm,
    template: ConsentTemplate,
    procedure: str,
    doctor: User | None,
    status: int = 200,
) -> HttpResponse:
    """Step 2: the filled-in text to read, and the signature pad (for the patient or guardian)."""
    user = staff_user(request)
    location = documents.default_location(user, patient)
    preview = (
        consents.consent_text(
            template=template,
            patient=patient,
            procedure=" ".join(procedure.split()),
            doctor=doctor or user,
            when=timezone.now(),
            location=location,
        )
        if location is not None
        else template.body
    )
    return render(
        request,
        "documents/consent_sign.html",
        {"patient": patient, "form": form, "template": template, "preview": preview},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@capability_required("consents.manage")
def consent_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Step 1 (GET without a template): choose the form, procedure and doctor. Step 2 (GET with
    them): the text to read and the signature pad. POST signs."""
    user = staff_user(request)
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    if patient.merged_into_id is not None:
        messages.error(request, "This record was merged into another; take consent on that record.")
        return redirect("consents-patient-list", patient_id=patient.pk)
    default = documents.default_location(user, patient)
    if request.method == "POST":
        form = ConsentSignForm(request.POST, user=user, default_location=default)
        if form.is_valid():
            data = form.cleaned_data
            try:
                consent = consents.consent_sign(
                    patient=patient,
                    template=data["template"],
                    actor=user,
                    signature=data["signature"],
                    location=data["location"],
                    procedure=data["procedure"],
                    signer_name=data["signer_name"],
                    signer_relation=data["signer_relation"],
                    witness_name=data["witness_name"],
                    doctor=data["doctor"],
                    context=audit_context(request),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                messages.success(request, "Consent signed. The signed PDF is stored and can be verified.")
                return redirect("consents-detail", consent_id=consent.pk)
        cleaned = getattr(form, "cleaned_data", {})
        template = cleaned.get("template")
        if template is None:
            start = ConsentStartForm(request.POST)
            start.is_valid()
            return render(request, "documents/consent_start.html", {"patient": patient, "form": start}, status=400)
        return _consent_signing_page(
            request,
            patient=patient,
            form=form,
            template=template,
            procedure=cleaned.get("procedure", ""),
            doctor=cleaned.get("doctor"),
            status=400,
        )

    start = ConsentStartForm(request.GET) if "template" in request.GET else ConsentStartForm()
    if not start.is_bound or not start.is_valid():
        return render(
            request,
            "documents/consent_start.html",
            {"patient": patient, "form": start},
            status=400 if start.is_bound else 200,
        )
    template = start.cleaned_data["template"]
    procedure = " ".join(start.cleaned_data["procedure"].split())
    if consents.needs_procedure(template) and not procedure:
        start.add_error("procedure", "Name the procedure this consent is for.")
        return render(request, "documents/consent_start.html", {"patient": patient, "form": start}, status=400)
    minor = patient.is_minor
    form = ConsentSignForm(
        user=user,
        default_location=default,
        initial={
            "template": template.pk,
            "procedure": procedure,
            "doctor": start.cleaned_data["doctor"].pk if start.cleaned_data["doctor"] else None,
            "signer_relation": ConsentForm.SignerRelation.GUARDIAN if minor else ConsentForm.SignerRelation.SELF,
            "signer_name": patient.guardian_name if minor else patient.full_name,
        },
    )
    return _consent_signing_page(
        request, patient=patient, form=form, template=template, procedure=procedure, doctor=start.cleaned_data["doctor"]
    )


@require_GET
@capability_required("consents.manage")
def consent_detail(request: HttpRequest, consent_id: UUID) -> HttpResponse:
    consent = selectors.consent_access(user=staff_user(request), consent_id=consent_id)
    return render(
        request,
        "documents/consent_detail.html",
        {"consent": consent, "patient": consent.patient, "relation": consents.relation_label(consent, consent.patient)},
    )


@require_GET
@capability_required("consents.manage")
def consent_pdf(request: HttpRequest, consent_id: UUID) -> HttpResponseBase:
    consent = selectors.consent_access(user=staff_user(request), consent_id=consent_id)
    try:
        data = consents.consent_pdf_read(consent=consent, actor=staff_user(request), context=audit_context(request))
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=f"/consents/{consent.pk}/")
    return attachment_response(
        data, filename=f"consent-{consent.document.verification_code}.pdf", content_type="application/pdf"
    )


# --- certificates --------------------------------------------------------------------------------


@require_GET
@capability_required("clinical.view")
def patient_certificates(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    page = _page(request, selectors.certificate_list(user=staff_user(request), patient=patient))
    return render(request, "documents/certificate_list.html", {"patient": patient, "page": page})


@require_http_methods(["GET", "POST"])
@capability_required("certificates.sign")
def certificate_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """The certificate editor: start from a template, adjust the text, preview, sign."""
    user = staff_user(request)
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    default = documents.default_location(user, patient)
    preview = ""
    status = 200
    if request.method == "POST":
        form = CertificateForm(request.POST, user=user, default_location=default)
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("action") == "sign":
                try:
                    certificate = consents.certificate_sign(
                        patient=patient,
                        actor=user,
                        kind=data["kind"],
                        template=data["template"],
                        body=data["body"],
                        from_date=data["from_date"],
                        to_date=data["to_date"],
                        diagnosis=data["diagnosis"],
                        location=data["location"],
                        context=audit_context(request),
                    )
                except ValidationError as exc:
                    apply_service_errors(exc, form)
                else:
                    messages.success(request, "Certificate signed. The signed PDF is stored and can be verified.")
                    return redirect("certificates-detail", certificate_id=certificate.pk)
            where = data["location"] or default
            if form.is_valid() and where is not None:
                preview = consents.certificate_preview(
                    patient=patient,
                    actor=user,
                    body=data["body"],
                    from_date=data["from_date"],
                    to_date=data["to_date"],
                    diagnosis=data["diagnosis"],
                    location=where,
                )
        if not form.is_valid():
            status = 400
    else:
        template = None
        if request.GET.get("template"):
            template = selectors.certificate_template_get(request.GET["template"], active_only=True)
        kind = template.kind if template else request.GET.get("kind", CertificateTemplate.Kind.SICK_LEAVE)
        today = timezone.localdate()
        form = CertificateForm(
            user=user,
            default_location=default,
            initial={
                "template": template.pk if template else None,
                "kind": kind,
                "body": template.body if template else "",
                "from_date": today,
                "to_date": today if kind == CertificateTemplate.Kind.SICK_LEAVE else None,
            },
        )
    return render(
        request,
        "documents/certificate_form.html",
        {
            "patient": patient,
            "form": form,
            "preview": preview,
            "templates": selectors.certificate_templates(),
            "registration_missing": not user.registration_number.strip(),
        },
        status=status,
    )


@require_GET
@capability_required("clinical.view")
def certificate_detail(request: HttpRequest, certificate_id: UUID) -> HttpResponse:
    certificate = selectors.certificate_access(user=staff_user(request), certificate_id=certificate_id)
    return render(
        request,
        "documents/certificate_detail.html",
        {"certificate": certificate, "patient": certificate.patient},
    )


@require_GET
@capability_required("clinical.view")
def certificate_pdf(request: HttpRequest, certificate_id: UUID) -> HttpResponseBase:
    certificate = selectors.certificate_access(user=staff_user(request), certificate_id=certificate_id)
    try:
        data = consents.certificate_pdf_read(
            certificate=certificate, actor=staff_user(request), context=audit_context(request)
        )
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=f"/certificates/{certificate.pk}/")
    return attachment_response(
        data, filename=f"certificate-{certificate.document.verification_code}.pdf", content_type="application/pdf"
    )


# --- templates -----------------------------------------------------------------------------------

_TEMPLATE_KINDS: dict[str, dict[str, Any]] = {
    "consent": {
        "model": ConsentTemplate,
        "kinds": ConsentTemplate.Kind.choices,
        "placeholders": consents.CONSENT_PLACEHOLDERS,
        "create": consents.consent_template_create,
        "update": consents.consent_template_update,
        "list_url": "consents-templates",
        "noun": "consent form",
    },
    "certificate": {
        "model": CertificateTemplate,
        "kinds": CertificateTemplate.Kind.choices,
        "placeholders": consents.CERTIFICATE_PLACEHOLDERS,
        "create": consents.certificate_template_create,
        "update": consents.certificate_template_update,
        "list_url": "certificates-templates",
        "noun": "certificate",
    },
}


def _template_list(request: HttpRequest, which: str) -> HttpResponse:
    spec = _TEMPLATE_KINDS[which]
    templates = (
        selectors.consent_templates(include_inactive=True)
        if which == "consent"
        else selectors.certificate_templates(include_inactive=True)
    )
    return render(
        request,
        "documents/template_list.html",
        {"which": which, "noun": spec["noun"], "page": _page(request, templates)},
    )


def _template_form(request: HttpRequest, which: str, template_id: UUID | None) -> HttpResponse:
    spec = _TEMPLATE_KINDS[which]
    user = staff_user(request)
    template: Any = None
    if template_id is not None:
        template = (
            selectors.consent_template_get(template_id)
            if which == "consent"
            else selectors.certificate_template_get(template_id)
        )
    kwargs = {"kinds": spec["kinds"], "placeholders": spec["placeholders"]}
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if template is None:
                    spec["create"](
                        actor=user,
                        name=data["name"],
                        kind=data["kind"],
                        body=data["body"],
                        context=audit_context(request),
                    )
                else:
                    spec["update"](
                        template=template,
                        actor=user,
                        name=data["name"],
                        kind=data["kind"],
                        body=data["body"],
                        is_active=data["is_active"],
                        context=audit_context(request),
                    )
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                messages.success(request, "Template saved.")
                return redirect(spec["list_url"])
        status = 400
    elif template is not None:
        form = TemplateForm(
            initial={
                "name": template.name,
                "kind": template.kind,
                "body": template.body,
                "is_active": template.is_active,
            },
            **kwargs,
        )
    else:
        form = TemplateForm(**kwargs)
    return render(
        request,
        "documents/template_form.html",
        {"which": which, "noun": spec["noun"], "form": form, "template": template},
        status=status,
    )


@require_GET
@capability_required("consents.manage")
def consent_template_list(request: HttpRequest) -> HttpResponse:
    return _template_list(request, "consent")


@require_http_methods(["GET", "POST"])
@capability_required("consents.manage")
def consent_template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request, "consent", None)


@require_http_methods(["GET", "POST"])
@capability_required("consents.manage")
def consent_template_edit(request: HttpRequest, template_id: UUID) -> HttpResponse:
    return _template_form(request, "consent", template_id)


@require_GET
@capability_required("certificates.sign")
def certificate_template_list(request: HttpRequest) -> HttpResponse:
    return _template_list(request, "certificate")


@require_http_methods(["GET", "POST"])
@capability_required("certificates.sign")
def certificate_template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request, "certificate", None)


@require_http_methods(["GET", "POST"])
@capability_required("certificates.sign")
def certificate_template_edit(request: HttpRequest, template_id: UUID) -> HttpResponse:
    return _template_form(request, "certificate", template_id)
