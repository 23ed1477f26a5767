"""Documents API (/api/v1/): patient documents (multipart upload, list, download), consent forms
(create and sign with a base64 PNG signature, list, PDF) and certificates (create and sign, list,
PDF), plus the templates to pick from. One view per resource, small serializers,
`required_capability` per method; reads go through the location-scoped selectors (other clinics'
and locations' ids give 404). Signed consents and certificates are immutable: no PATCH, PUT or
DELETE exists for them (405)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import RefOutput, StaffRefOutput
from accounts.guards import staff_user
from accounts.models import Location, User
from accounts.selectors import clinician_choices, locations_for
from audit.context import audit_context
from docos.api_errors import GONE, FileGone, error_responses
from docos.api_pagination import ApiPagination
from docos.storage import FileUnavailable
from documents import consents, selectors
from documents import services as documents
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument
from documents.views import attachment_response
from patients.access import paginate_records, patient_access

# --- serializers ---------------------------------------------------------------------------------


class DocumentOutput(serializers.Serializer[PatientDocument]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    title = serializers.CharField()
    category = serializers.ChoiceField(choices=PatientDocument.Category.choices)
    content_type = serializers.CharField(help_text="Detected from the file's contents.")
    original_name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="SHA-256 of the file as uploaded.")
    location = RefOutput()
    uploaded_by = StaffRefOutput()
    created_at = serializers.DateTimeField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, document: PatientDocument) -> str:
        return f"/api/v1/documents/{document.pk}/download"


class DocumentUploadInput(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="PDF, JPEG, PNG or HEIC; the type is read from the contents.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(
        choices=PatientDocument.Category.choices, required=False, default=PatientDocument.Category.REPORT
    )
    location = serializers.UUIDField(required=False, help_text="Defaults to the patient's registration location.")


class DocumentListQuery(serializers.Serializer[Any]):
    category = serializers.ChoiceField(choices=PatientDocument.Category.choices, required=False)


class ConsentTemplateOutput(serializers.Serializer[ConsentTemplate]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ConsentTemplate.Kind.choices)
    version = serializers.IntegerField()
    body = serializers.CharField(help_text="With placeholders such as {{ patient_name }}.")
    needs_procedure = serializers.SerializerMethodField()

    def get_needs_procedure(self, template: ConsentTemplate) -> bool:
        return consents.needs_procedure(template)


class ConsentTemplateRef(serializers.Serializer[ConsentTemplate]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ConsentTemplate.Kind.choices)
    version = serializers.IntegerField()


class ConsentOutput(serializers.Serializer[ConsentForm]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    template = ConsentTemplateRef()
    procedure = serializers.CharField()
    rendered_text = serializers.CharField(help_text="The text as signed.")
    signer_name = serializers.CharField()
    signer_relation = serializers.ChoiceField(choices=ConsentForm.SignerRelation.choices)
    witness_name = serializers.CharField()
    location = RefOutput()
    prepared_by = StaffRefOutput()
    signed_at = serializers.DateTimeField()
    verification_code = serializers.CharField(source="document.verification_code")
    sha256 = serializers.CharField(source="document.sha256", help_text="SHA-256 of the signed PDF.")
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, consent: ConsentForm) -> str:
        return f"/api/v1/consents/{consent.pk}/pdf"


@extend_schema_field({"type": "string", "format": "signature-png", "minLength": 1})
class SignatureField(serializers.CharField):
    pass


class ConsentInput(serializers.Serializer[Any]):
    openapi_examples = {
        "procedure": "Excision of a sebaceous cyst",
        "signer_relation": "self",
        "signer_name": "",
        "witness_name": "",
    }
    patient = serializers.UUIDField()
    template = serializers.UUIDField(help_text="An active consent template (GET /consent-templates).")
    procedure = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    signer_relation = serializers.ChoiceField(
        choices=ConsentForm.SignerRelation.choices,
        default=ConsentForm.SignerRelation.SELF,
        help_text="`guardian` for minors (required).",
    )
    signer_name = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Defaults to the patient (self) or the guardian on record (guardian).",
    )
    witness_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    doctor = serializers.UUIDField(
        required=False, allow_null=True, help_text="Fills {{ doctor_name }}; the caller by default."
    )
    location = serializers.UUIDField(required=False, help_text="Where it is signed; one of the caller's locations.")
    signature = SignatureField(
        max_length=1_000_000,
        help_text="The handwritten signature as a PNG: a data URL (data:image/png;base64,...) or plain base64. "
        "At most 512 KB, 100x40 to 3000x1500 pixels, not blank. Documented with the custom format "
        "`signature-png`.",
    )

    def validate_location(self, value: Any) -> Location:
        location = locations_for(self.context["user"]).filter(pk=value).first()
        if location is None:
            raise serializers.ValidationError("Not one of your active locations.")
        return location

    def validate_doctor(self, value: Any) -> User | None:
        if value is None:
            return None
        doctor = clinician_choices().filter(pk=value).first()
        if doctor is None:
            raise serializers.ValidationError("Not an active clinician of this clinic.")
        return doctor


class PatientQuery(serializers.Serializer[Any]):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's records.")


class CertificateTemplateOutput(serializers.Serializer[CertificateTemplate]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CertificateTemplate.Kind.choices)
    body = serializers.CharField()


class CertificateOutput(serializers.Serializer[Certificate]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    template = serializers.UUIDField(source="template_id", allow_null=True)
    kind = serializers.ChoiceField(choices=CertificateTemplate.Kind.choices)
    body = serializers.CharField(help_text="The text as signed.")
    details = serializers.DictField(help_text="from_date, to_date, days, diagnosis (when given).")
    doctor = StaffRefOutput()
    location = RefOutput()
    signed_at = serializers.DateTimeField()
    verification_code = serializers.CharField(source="document.verification_code")
    sha256 = serializers.CharField(source="document.sha256", help_text="SHA-256 of the signed PDF.")
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, certificate: Certificate) -> str:
        return f"/api/v1/certificates/{certificate.pk}/pdf"


class CertificateInput(serializers.Serializer[Any]):
    openapi_examples = {
        "template": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "kind": "sick_leave",
        "body": "",
        "from_date": "2026-03-02",
        "to_date": "2026-03-04",
        "diagnosis": "Acute viral fever",
    }
    # A template gives the kind and the text (without one, both are needed); sick leave needs both
    # dates, fitness `from_date`. Besides: `to_date` not before `from_date`, at most 366 days, and
    # `from_date` at most 30 days ahead.
    openapi_rules = {
        "allOf": [
            {
                "anyOf": [
                    {"required": ["template"], "properties": {"template": {"type": "string", "format": "uuid"}}},
                    {"required": ["kind", "body"], "properties": {"body": {"type": "string", "pattern": r"\S"}}},
                ]
            },
            {
                "anyOf": [
                    {"required": ["kind"], "properties": {"kind": {"enum": ["custom"]}}},
                    {
                        "required": ["kind", "from_date"],
                        "properties": {
                            "kind": {"enum": ["fitness"]},
                            "from_date": {"type": "string", "format": "date"},
                        },
                    },
                    {
                        "required": ["from_date", "to_date"],
                        "properties": {
                            "from_date": {"type": "string", "format": "date"},
                            "to_date": {"type": "string", "format": "date"},
                        },
                    },
                ]
            },
        ]
    }
    patient = serializers.UUIDField()
    template = serializers.UUIDField(
        required=False, allow_null=True, help_text="An active certificate template; without it, give `kind` and `body`."
    )
    kind = serializers.ChoiceField(
        choices=CertificateTemplate.Kind.choices, required=False, help_text="Defaults to the template's kind."
    )
    body = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="The text; defaults to the template's."
    )
    from_date = serializers.DateField(required=False, allow_null=True)
    to_date = serializers.DateField(required=False, allow_null=True)
    diagnosis = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    location = serializers.UUIDField(required=False)

    def validate_location(self, value: Any) -> Location:
        location = locations_for(self.context["user"]).filter(pk=value).first()
        if location is None:
            raise serializers.ValidationError("Not one of your active locations.")
        return location


class CertificateListQuery(PatientQuery):
    kind = serializers.ChoiceField(choices=CertificateTemplate.Kind.choices, required=False)


# --- helpers -------------------------------------------------------------------------------------


def _query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _pdf(data: bytes, filename: str) -> FileResponse:
    return attachment_response(data, filename=filename, content_type="application/pdf")


PDF_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The signed PDF (attachment).")

# --- documents -----------------------------------------------------------------------------------


class PatientDocumentsView(APIView):
    required_capability = {"GET": "documents.view", "POST": "documents.upload"}
    pagination_class = ApiPagination
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="patient_documents_list",
        summary="A patient's documents",
        description="Requires `documents.view`. Newest first; only documents filed at the caller's locations.",
        parameters=[DocumentListQuery],
        responses={200: DocumentOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["documents"],
    )
    def get(self, request: Request, id: Any) -> Response:
        patient = patient_access(user=staff_user(request), patient_id=id)
        filters = _query(DocumentListQuery, request)
        queryset = selectors.document_list(
            user=staff_user(request), patient=patient, category=filters.get("category", "")
        )
        return paginate_records(self, request, queryset, lambda document: DocumentOutput(document).data)

    @extend_schema(
        operation_id="patient_documents_upload",
        summary="Upload a document (multipart)",
        description="Requires `documents.upload`. PDF, JPEG, PNG or HEIC, detected from the contents (a .pdf that "
        "is really a ZIP is refused); at most DOCOS_UPLOAD_MAX_BYTES (25 MB by default). Stored encrypted.",
        request={"multipart/form-data": DocumentUploadInput},
        responses={201: DocumentOutput, **error_responses(400, 401, 403, 404)},
        tags=["documents"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        patient = patient_access(user=staff_user(request), patient_id=id)
        payload = DocumentUploadInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        location = None
        if data.get("location"):
            location = locations_for(user).filter(pk=data["location"]).first()
            if location is None:
                raise serializers.ValidationError({"location": ["Not one of your active locations."]})
        document = documents.document_upload(
            patient=patient,
            actor=user,
            file=data["file"],
            title=data["title"],
            category=data["category"],
            location=location,
            context=audit_context(request),
        )
        fresh = PatientDocument.objects.select_related("location", "uploaded_by").get(pk=document.pk)
        return Response(DocumentOutput(fresh).data, status=201)


class DocumentDetailView(APIView):
    required_capability = "documents.view"

    @extend_schema(
        operation_id="documents_retrieve",
        summary="One document's details",
        description="Requires `documents.view`.",
        responses={200: DocumentOutput, **error_responses(401, 403, 404)},
        tags=["documents"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(DocumentOutput(selectors.document_access(user=staff_user(request), document_id=id)).data)


class DocumentDownloadView(APIView):
    required_capability = "documents.view"

    @extend_schema(
        operation_id="documents_download",
        summary="Download a document",
        description="Requires `documents.view`. Streams the decrypted file as an attachment; each download is "
        "audited. 410 when the file can no longer be read (e.g. the clinic's data key was destroyed).",
        responses={
            **{
                (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file, in its own type.")
                for content_type in documents.ACCEPTED
            },
            **error_responses(401, 403, 404),
            410: GONE,
        },
        tags=["documents"],
    )
    def get(self, request: Request, id: Any) -> FileResponse:
        user = staff_user(request)
        document = selectors.document_access(user=user, document_id=id)
        try:
            data = documents.document_read(document=document, actor=user, context=audit_context(request))
        except FileUnavailable as exc:
            raise FileGone(str(exc)) from exc
        return attachment_response(data, filename=documents.download_name(document), content_type=document.content_type)


# --- consents ------------------------------------------------------------------------------------


class ConsentTemplateListView(APIView):
    required_capability = "consents.manage"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="consent_templates_list",
        summary="Consent templates in use",
        description="Requires `consents.manage`.",
        responses={200: ConsentTemplateOutput(many=True), **error_responses(401, 403)},
        tags=["consents"],
    )
    def get(self, request: Request) -> Response:
        return paginate_records(
            self, request, selectors.consent_templates(), lambda template: ConsentTemplateOutput(template).data
        )


class ConsentListView(APIView):
    required_capability = {"GET": "consents.manage", "POST": "consents.manage"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="consents_list",
        summary="Signed consent forms",
        description="Requires `consents.manage`. Newest first; filter with `patient`.",
        parameters=[PatientQuery],
        responses={200: ConsentOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["consents"],
    )
    def get(self, request: Request) -> Response:
        filters = _query(PatientQuery, request)
        patient = (
            patient_access(user=staff_user(request), patient_id=filters["patient"]) if filters.get("patient") else None
        )
        queryset = selectors.consent_list(user=staff_user(request), patient=patient)
        return paginate_records(self, request, queryset, lambda consent: ConsentOutput(consent).data)

    @extend_schema(
        operation_id="consents_create",
        summary="Fill, sign and store a consent form",
        description="Requires `consents.manage`. The template is filled for the patient, the signature (PNG, "
        "base64) is checked and placed in the PDF with the signer, relation, witness, time and location; the "
        "PDF is stored encrypted and published for /verify. For a minor, a parent or guardian signs. "
        "A signed consent cannot be changed.",
        request=ConsentInput,
        responses={201: ConsentOutput, **error_responses(400, 401, 403, 404)},
        tags=["consents"],
    )
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        payload = ConsentInput(data=request.data, context={"user": user})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        patient = patient_access(user=staff_user(request), patient_id=data["patient"])
        template = selectors.consent_template_get(data["template"])
        signature = data["signature"].strip()
        if not signature.lower().startswith("data:"):
            signature = consents.SIGNATURE_DATA_URL_PREFIX + signature
        consent = consents.consent_sign(
            patient=patient,
            template=template,
            actor=user,
            signature=signature,
            location=data.get("location"),
            procedure=data["procedure"],
            signer_name=data["signer_name"],
            signer_relation=data["signer_relation"],
            witness_name=data["witness_name"],
            doctor=data.get("doctor"),
            context=audit_context(request),
        )
        return Response(ConsentOutput(selectors.consent_access(user=user, consent_id=consent.pk)).data, status=201)


class ConsentDetailView(APIView):
    required_capability = "consents.manage"

    @extend_schema(
        operation_id="consents_retrieve",
        summary="One signed consent form",
        description="Requires `consents.manage`.",
        responses={200: ConsentOutput, **error_responses(401, 403, 404)},
        tags=["consents"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(ConsentOutput(selectors.consent_access(user=staff_user(request), consent_id=id)).data)


class ConsentPdfView(APIView):
    required_capability = "consents.manage"

    @extend_schema(
        operation_id="consents_pdf",
        summary="The signed consent as PDF",
        description="Requires `consents.manage`. Each download is audited.",
        responses={(200, "application/pdf"): PDF_RESPONSE, **error_responses(401, 403, 404), 410: GONE},
        tags=["consents"],
    )
    def get(self, request: Request, id: Any) -> FileResponse:
        user = staff_user(request)
        consent = selectors.consent_access(user=user, consent_id=id)
        try:
            data = consents.consent_pdf_read(consent=consent, actor=user, context=audit_context(request))
        except FileUnavailable as exc:
            raise FileGone(str(exc)) from exc
        return _pdf(data, f"consent-{consent.document.verification_code}.pdf")


# --- certificates --------------------------------------------------------------------------------


class CertificateTemplateListView(APIView):
    required_capability = "certificates.sign"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="certificate_templates_list",
        summary="Certificate templates in use",
        description="Requires `certificates.sign`.",
        responses={200: CertificateTemplateOutput(many=True), **error_responses(401, 403)},
        tags=["certificates"],
    )
    def get(self, request: Request) -> Response:
        return paginate_records(
            self, request, selectors.certificate_templates(), lambda template: CertificateTemplateOutput(template).data
        )


class CertificateListView(APIView):
    required_capability = {"GET": "clinical.view", "POST": "certificates.sign"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="certificates_list",
        summary="Signed certificates",
        description="Requires `clinical.view`. Newest first; filter with `patient` and `kind`.",
        parameters=[CertificateListQuery],
        responses={200: CertificateOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["certificates"],
    )
    def get(self, request: Request) -> Response:
        filters = _query(CertificateListQuery, request)
        patient = (
            patient_access(user=staff_user(request), patient_id=filters["patient"]) if filters.get("patient") else None
        )
        queryset = selectors.certificate_list(user=staff_user(request), patient=patient, kind=filters.get("kind", ""))
        return paginate_records(self, request, queryset, lambda certificate: CertificateOutput(certificate).data)

    @extend_schema(
        operation_id="certificates_create",
        summary="Write and sign a certificate",
        description="Requires `certificates.sign` and a registration number on the signer's profile. Sick leave "
        "needs `from_date` and `to_date`; fitness needs `from_date`. The PDF is stored encrypted and published "
        "for /verify. A signed certificate cannot be changed.",
        request=CertificateInput,
        responses={201: CertificateOutput, **error_responses(400, 401, 403, 404)},
        tags=["certificates"],
    )
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        payload = CertificateInput(data=request.data, context={"user": user})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        patient = patient_access(user=staff_user(request), patient_id=data["patient"])
        template = selectors.certificate_template_get(data["template"]) if data.get("template") else None
        certificate = consents.certificate_sign(
            patient=patient,
            actor=user,
            kind=data.get("kind", ""),
            template=template,
            body=data["body"],
            from_date=data.get("from_date"),
            to_date=data.get("to_date"),
            diagnosis=data["diagnosis"],
            location=data.get("location"),
            context=audit_context(request),
        )
        fresh = selectors.certificate_access(user=user, certificate_id=certificate.pk)
        return Response(CertificateOutput(fresh).data, status=201)


class CertificateDetailView(APIView):
    required_capability = "clinical.view"

    @extend_schema(
        operation_id="certificates_retrieve",
        summary="One signed certificate",
        description="Requires `clinical.view`.",
        responses={200: CertificateOutput, **error_responses(401, 403, 404)},
        tags=["certificates"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(
            CertificateOutput(selectors.certificate_access(user=staff_user(request), certificate_id=id)).data
        )


class CertificatePdfView(APIView):
    required_capability = "clinical.view"

    @extend_schema(
        operation_id="certificates_pdf",
        summary="The signed certificate as PDF",
        description="Requires `clinical.view`. Each download is audited.",
        responses={(200, "application/pdf"): PDF_RESPONSE, **error_responses(401, 403, 404), 410: GONE},
        tags=["certificates"],
    )
    def get(self, request: Request, id: Any) -> FileResponse:
        user = staff_user(request)
        certificate = selectors.certificate_access(user=user, certificate_id=id)
        try:
            data = consents.certificate_pdf_read(certificate=certificate, actor=user, context=audit_context(request))
        except FileUnavailable as exc:
            raise FileGone(str(exc)) from exc
        return _pdf(data, f"certificate-{certificate.document.verification_code}.pdf")
