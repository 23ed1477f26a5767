"""Clinical API (/api/v1/) for prescription safety: a patient's recorded allergies (list, record, mark
resolved) and a prescription's safety findings before signing. Thin: parse, call one service or
selector, answer. Ids go through patients.access (allergies) and clinical.selectors (prescriptions)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import StaffRefOutput
from accounts.guards import staff_user
from audit.context import audit_context
from clinical import allergies, rx_safety, selectors
from clinical import services as clinical
from clinical.models import PatientAllergy
from docos.api_errors import error_responses
from docos.api_pagination import ApiPagination
from patients.access import paginate_records, patient_access


class AllergyOutput(serializers.Serializer[PatientAllergy]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    allergen = serializers.CharField()
    allergen_class = serializers.CharField(help_text="A class key (e.g. `penicillins`), or empty.")
    allergen_class_label = serializers.SerializerMethodField()
    reaction = serializers.CharField()
    severity = serializers.ChoiceField(choices=PatientAllergy.Severity.choices)
    status = serializers.ChoiceField(choices=PatientAllergy.Status.choices)
    noted_by = StaffRefOutput()
    noted_at = serializers.DateTimeField()
    resolved_by = StaffRefOutput(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)

    def get_allergen_class_label(self, obj: PatientAllergy) -> str:
        return allergies.allergy_label(obj.allergen_class)


class AllergyInput(serializers.Serializer[Any]):
    allergen = serializers.CharField(max_length=allergies.ALLERGEN_MAX)
    allergen_class = serializers.ChoiceField(
        choices=rx_safety.class_choices(),
        required=False,
        allow_blank=True,
        default="",
        help_text="Leave empty to take it from the allergen's text (`Sulpha` -> `sulfonamides`).",
    )
    reaction = serializers.CharField(max_length=allergies.REACTION_MAX, required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(
        choices=PatientAllergy.Severity.choices, required=False, default=PatientAllergy.Severity.UNKNOWN
    )


class FindingOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Give it with a reason in `overrides` to sign anyway.")
    kind = serializers.ChoiceField(choices=["allergy", "cross_reactivity", "duplicate", "interaction"])
    severity = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    note = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    lines = serializers.ListField(child=serializers.IntegerField(), help_text="0-based positions of the lines.")
    molecules = serializers.ListField(child=serializers.CharField())


class SafetyOutput(serializers.Serializer[Any]):
    findings = FindingOutput(many=True)
    incomplete = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What each line lacks, as `items.<n>.<field>`; empty when every line is complete.",
    )


class PatientAllergiesView(APIView):
    required_capability = {"GET": "patients.view", "POST": "clinical.edit"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="patient_allergies_list",
        summary="A patient's recorded allergies",
        description="Requires `patients.view`. Active first, then resolved; newest first.",
        responses={200: AllergyOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["allergies"],
    )
    def get(self, request: Request, id: Any) -> Response:
        patient = patient_access(user=staff_user(request), patient_id=id, what="allergies")
        return paginate_records(
            self, request, allergies.patient_allergies(patient), lambda row: AllergyOutput(row).data
        )

    @extend_schema(
        operation_id="patient_allergies_create",
        summary="Record an allergy",
        description="Requires `clinical.edit`. Checked when the patient's prescriptions are signed.",
        request=AllergyInput,
        responses={201: AllergyOutput, **error_responses(400, 401, 403, 404)},
        tags=["allergies"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        patient = patient_access(user=user, patient_id=id, what="allergies")
        payload = AllergyInput(data=request.data)
        payload.is_valid(raise_exception=True)
        allergy = allergies.allergy_record(
            patient=patient, actor=user, context=audit_context(request), **payload.validated_data
        )
        return Response(AllergyOutput(allergy).data, status=201)


class AllergyResolveView(APIView):
    required_capability = "clinical.edit"

    @extend_schema(
        operation_id="patient_allergies_resolve",
        summary="Mark an allergy resolved",
        description="Requires `clinical.edit`. It stays on the record; it is no longer checked. "
        "400 `invalid` if it is resolved already.",
        request=None,
        responses={200: AllergyOutput, **error_responses(400, 401, 403, 404)},
        tags=["allergies"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        allergy = allergies.allergy_access(user=user, allergy_id=id)
        allergies.allergy_resolve(allergy=allergy, actor=user, context=audit_context(request))
        return Response(AllergyOutput(allergies.allergy_access(user=user, allergy_id=id)).data)


class PrescriptionSafetyView(APIView):
    required_capability = "prescriptions.view"

    @extend_schema(
        operation_id="prescriptions_safety",
        summary="A prescription's safety findings",
        description="Requires `prescriptions.view`. For a draft: what each line lacks, and the allergy, "
        "cross-reactivity, duplicate and interaction findings that signing asks a reason for. "
        "Empty for a signed prescription.",
        responses={200: SafetyOutput, **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> Response:
        prescription = selectors.prescription_access(user=staff_user(request), prescription_id=id)
        draft = prescription.status == prescription.Status.DRAFT
        findings = clinical.prescription_safety_findings(prescription) if draft else []
        data = {
            "findings": [
                {
                    "code": f.code,
                    "kind": f.kind,
                    "severity": f.severity,
                    "title": f.title,
                    "message": f.message,
                    "note": f.note,
                    "source": f.source,
                    "lines": list(f.lines),
                    "molecules": list(f.molecules),
                }
                for f in findings
            ],
            "incomplete": clinical.prescription_incomplete_lines(prescription) if draft else {},
        }
        return Response(SafetyOutput(data).data)
