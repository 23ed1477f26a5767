"""API (/api/v1/) of a doctor's own shortcuts for prescribing: favourite medicines, prescription
templates and the patient's last prescription to repeat. Favourites and templates are the token
user's own (another doctor's id is a 404); the lines come back as a prescription's `items` take them,
to check and send with POST /prescriptions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.guards import staff_user
from audit.context import audit_context
from clinical import favourites, rx_templates, selectors
from clinical.models import FavouriteMedicine, PrescriptionTemplate
from docos.api_errors import ErrorSerializer, error_responses
from docos.api_pagination import ApiPagination, paginate
from patients.access import patient_access

# --- favourite medicines -------------------------------------------------------------------------


class FavouriteInput(serializers.Serializer[Any]):
    key = serializers.CharField(
        max_length=200,
        help_text="The `key` of an entry of GET /medicines (a clinic formulary drug or a reference product).",
    )


class FavouriteOutput(serializers.Serializer[FavouriteMedicine]):
    id = serializers.UUIDField()
    key = serializers.CharField()
    name = serializers.CharField()
    strength = serializers.CharField()
    form = serializers.CharField()
    drug = serializers.UUIDField(source="drug_id", allow_null=True, help_text="The clinic formulary drug, if one.")
    created_at = serializers.DateTimeField()


class FavouriteListView(APIView):
    required_capability = "prescriptions.write"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="medicines_favourites_list",
        summary="My favourite medicines",
        description="Requires `prescriptions.write`. The token user's own favourites, by name; GET /medicines "
        "offers them first (`favourite: true`).",
        responses={200: FavouriteOutput(many=True), **error_responses(401, 403)},
        tags=["prescriptions"],
    )
    def get(self, request: Request) -> Response:
        rows = list(favourites.favourites_of(staff_user(request)))
        return paginate(self, request, rows, lambda favourite: FavouriteOutput(favourite).data)

    @extend_schema(
        operation_id="medicines_favourites_add",
        summary="Star a medicine",
        description="Requires `prescriptions.write`. Starring one already starred returns it (201 either way). "
        f"At most {favourites.FAVOURITES_PER_DOCTOR} per doctor; 400 for a key no medicine has.",
        request=FavouriteInput,
        responses={201: FavouriteOutput, **error_responses(400, 401, 403)},
        tags=["prescriptions"],
    )
    def post(self, request: Request) -> Response:
        payload = FavouriteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        favourite = favourites.favourite_add(
            actor=staff_user(request), key=payload.validated_data["key"], context=audit_context(request)
        )
        return Response(FavouriteOutput(favourite).data, status=201)


class FavouriteDetailView(APIView):
    required_capability = "prescriptions.write"

    @extend_schema(
        operation_id="medicines_favourites_read",
        summary="One of my favourite medicines",
        description="Requires `prescriptions.write`. Only one's own favourites (others answer 404).",
        responses={200: FavouriteOutput, **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(FavouriteOutput(favourites.favourite_access(user=staff_user(request), favourite_id=id)).data)

    @extend_schema(
        operation_id="medicines_favourites_remove",
        summary="Unstar a medicine",
        description="Requires `prescriptions.write`. Only one's own favourites (others answer 404).",
        responses={204: OpenApiResponse(description="Removed."), **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def delete(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        favourite = favourites.favourite_access(user=user, favourite_id=id)
        favourites.favourite_remove(actor=user, favourite=favourite, context=audit_context(request))
        return Response(status=204)


# --- prescription templates and repeating the last prescription --------------------------------


class LineOutput(serializers.Serializer[Any]):
    """A prescription line as POST /prescriptions takes it in `items`."""

    drug = serializers.UUIDField(allow_null=True, required=False, help_text="The clinic formulary drug, if linked.")
    drug_name = serializers.CharField()
    strength = serializers.CharField()
    form = serializers.CharField()
    dose = serializers.CharField(help_text="Blank in a template line dosed by a child's weight.")
    frequency = serializers.CharField()
    route = serializers.CharField()
    duration = serializers.CharField()
    food_relation = serializers.CharField()
    instructions = serializers.CharField()
    instructions_hi = serializers.CharField()


def _lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [LineOutput({**row, "drug": row.get("drug")}).data for row in rows]


class TemplateOutput(serializers.Serializer[PrescriptionTemplate]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    items = serializers.SerializerMethodField()
    general_advice = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(LineOutput(many=True))
    def get_items(self, template: PrescriptionTemplate) -> list[dict[str, Any]]:
        return _lines(rx_templates.template_rows(template))


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "You already have a template with this name."
    default_code = "conflict"


class TemplateInput(serializers.Serializer[Any]):
    openapi_rules = {"allOf": [{"properties": {"name": {"pattern": r"\S"}}}]}  # not only spaces

    prescription = serializers.UUIDField(help_text="The prescription whose lines and advice to save.")
    name = serializers.CharField(max_length=rx_templates.TEMPLATE_NAME_MAX, help_text="e.g. URTI adult.")
    dose_by_weight = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Leave the doses of medicines with a standard paediatric dose blank, to dose each child by weight.",
    )


class TemplateListView(APIView):
    required_capability = "prescriptions.write"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="prescription_templates_list",
        summary="My prescription templates",
        description="Requires `prescriptions.write`. The token user's own templates, by name.",
        responses={200: TemplateOutput(many=True), **error_responses(401, 403)},
        tags=["prescriptions"],
    )
    def get(self, request: Request) -> Response:
        rows = list(rx_templates.templates_of(staff_user(request)))
        return paginate(self, request, rows, lambda template: TemplateOutput(template).data)

    @extend_schema(
        operation_id="prescription_templates_create",
        summary="Save a prescription as my template",
        description="Requires `prescriptions.write`. 409 `template_exists` when the user has a template of that "
        f"name (case aside), 409 `too_many_templates` at {rx_templates.TEMPLATES_PER_DOCTOR} templates; 404 for a "
        "prescription the user cannot open.",
        request=TemplateInput,
        responses={
            201: TemplateOutput,
            **error_responses(400, 401, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="`template_exists` or `too_many_templates`."),
        },
        tags=["prescriptions"],
    )
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        payload = TemplateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        prescription = selectors.prescription_access(user=user, prescription_id=data["prescription"])
        if rx_templates.templates_of(user).filter(name__iexact=" ".join(data["name"].split())).exists():
            raise Conflict(code="template_exists")
        if rx_templates.templates_of(user).count() >= rx_templates.TEMPLATES_PER_DOCTOR:
            raise Conflict("You have the most templates a doctor may keep; delete one.", code="too_many_templates")
        template = rx_templates.template_save_from_prescription(
            actor=user,
            prescription=prescription,
            name=data["name"],
            dose_by_weight=data["dose_by_weight"],
            context=audit_context(request),
        )
        return Response(TemplateOutput(template).data, status=201)


class TemplateDetailView(APIView):
    required_capability = "prescriptions.write"

    @extend_schema(
        operation_id="prescription_templates_read",
        summary="One of my prescription templates",
        description="Requires `prescriptions.write`. Only one's own templates (others answer 404).",
        responses={200: TemplateOutput, **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(TemplateOutput(rx_templates.template_access(user=staff_user(request), template_id=id)).data)

    @extend_schema(
        operation_id="prescription_templates_delete",
        summary="Delete my template",
        description="Requires `prescriptions.write`. Only one's own templates (others answer 404).",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def delete(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        template = rx_templates.template_access(user=user, template_id=id)
        rx_templates.template_delete(actor=user, template=template, context=audit_context(request))
        return Response(status=204)


class RepeatOutput(serializers.Serializer[Any]):
    prescription = serializers.UUIDField(allow_null=True, help_text="The latest signed prescription; null if none.")
    signed_at = serializers.DateTimeField(allow_null=True)
    items = LineOutput(many=True)


class PatientRepeatPrescriptionView(APIView):
    required_capability = "prescriptions.write"

    @extend_schema(
        operation_id="patient_repeat_prescription",
        summary="The lines to repeat the patient's last prescription",
        description="Requires `prescriptions.write`. The lines of the patient's latest signed prescription the user "
        "may open, as POST /prescriptions takes them (nothing is written); no lines if there is none.",
        responses={200: RepeatOutput, **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        patient = patient_access(user=user, patient_id=id)
        last = rx_templates.last_signed_prescription(user=user, patient=patient)
        rows = rx_templates.repeat_rows(last) if last is not None else []
        return Response(
            RepeatOutput(
                {
                    "prescription": last.pk if last else None,
                    "signed_at": last.signed_at if last else None,
                    "items": rows,
                }
            ).data
        )
