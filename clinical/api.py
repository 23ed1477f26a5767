"""Clinical API (/api/v1/): visits and their signing and addenda, prescriptions, their signing,
revisions and PDFs. One view per resource, small serializers, `required_capability` per method;
reads go through the location-scoped selectors (other clinics' and locations' ids give 404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import RefOutput, StaffRefOutput
from accounts.guards import staff_user
from accounts.models import Location, User
from accounts.selectors import clinician_choices, locations_for
from audit.context import audit_context
from clinical import icd10, selectors
from clinical import services as clinical
from clinical.models import Prescription as PrescriptionModel
from clinical.models import PrescriptionItem, Visit
from clinical.views import medicine_option_data, pdf_response
from docos.api_errors import GONE, ErrorSerializer, FileGone, error_body, error_responses
from docos.api_pagination import ApiPagination, paginate
from docos.storage import FileUnavailable
from patients.access import paginate_records, patient_access

RefOutput = RefOutput
# Older times would print with a local mean time offset (+05:53:28), which is no RFC 3339 date-time.
EARLIEST_VISIT_YEAR = 1950

# --- serializers ---------------------------------------------------------------------------------


def _bounds(name: str) -> dict[str, Any]:
    """min_value/max_value of a Visit field, from the model's validators, for the schema."""
    bounds: dict[str, Any] = {}
    for validator in getattr(Visit._meta.get_field(name), "validators", []):
        if isinstance(validator, MinValueValidator):
            bounds["min_value"] = validator.limit_value
        elif isinstance(validator, MaxValueValidator):
            bounds["max_value"] = validator.limit_value
    return bounds


def _without_bound_checks(field: serializers.Field[Any, Any, Any, Any]) -> None:
    """Keep min_value/max_value for the schema but leave checking them to the service, which reports
    every bad field of a visit at once (the serializer would stop at the first ones)."""
    field.validators = [v for v in field.validators if not isinstance(v, MinValueValidator | MaxValueValidator)]


class VitalIntegerField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _without_bound_checks(self)


class VitalDecimalField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _without_bound_checks(self)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$",
        "description": "A code of the WHO ICD-10 list (2019 edition), e.g. J06.9; find codes with GET /api/v1/icd10. "
        "A code of that shape not on the list (such as an ICD-10-CM-only code) answers 400 naming the nearest code.",
    }
)
class Icd10Field(serializers.CharField):
    """An ICD-10 code: a letter, two characters, then optionally a dot and up to four more."""


# A slot (S), a zero slot (Z: "0", "0.0") and a non-zero one (N: any other slot): the schema's pattern
# has at least one N, because the service refuses all zeros ("never"), and a schema-valid request
# should be one the API accepts.
_SLOT = r"(?:[0-9]{1,2}(?:\.[0-9])?|½|1/2)"
_ZERO = r"0(?:\.0)?"
_NONZERO = r"(?:[1-9][0-9]?(?:\.[0-9])?|0[0-9](?:\.[0-9])?|0\.[1-9]|½|1/2)"
_SLOTS = (
    rf"{_NONZERO}(?:-{_SLOT}){{2,3}}|{_ZERO}-{_NONZERO}(?:-{_SLOT}){{1,2}}"
    rf"|{_ZERO}-{_ZERO}-{_NONZERO}(?:-{_SLOT})?|{_ZERO}-{_ZERO}-{_ZERO}-{_NONZERO}"
)
FREQUENCY_PATTERN = rf"^(?:{_SLOTS}|{'|'.join(sorted(clinical.FREQUENCY_WORDS))})$"


@extend_schema_field({"type": "string", "pattern": FREQUENCY_PATTERN, "example": "1-0-1"})
class FrequencyField(serializers.CharField):
    """Dose timing: slots such as 1-0-1 or 1-1-1-1 (halves as ½, 1/2 or 0.5), or OD, BD, TDS, SOS, ..."""


class DiagnosisSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=200)
    icd10 = Icd10Field(
        max_length=12, required=False, allow_blank=True, default="", help_text="ICD-10 code, e.g. J06.9."
    )


class NotesSerializer(serializers.Serializer[Any]):
    history = serializers.CharField(required=False, allow_blank=True, default="")
    examination = serializers.CharField(required=False, allow_blank=True, default="")
    subjective = serializers.CharField(required=False, allow_blank=True, default="")
    objective = serializers.CharField(required=False, allow_blank=True, default="")
    assessment = serializers.CharField(required=False, allow_blank=True, default="")
    plan = serializers.CharField(required=False, allow_blank=True, default="")


class AddendumOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    author = StaffRefOutput()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class VisitSummaryOutput(serializers.Serializer[Visit]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    visit_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    chief_complaint = serializers.CharField()
    location = RefOutput()
    clinician = StaffRefOutput()
    signed_at = serializers.DateTimeField(allow_null=True)


class VisitOutput(VisitSummaryOutput):
    signed_by = StaffRefOutput(allow_null=True)
    bp_systolic = serializers.IntegerField(allow_null=True)
    bp_diastolic = serializers.IntegerField(allow_null=True)
    pulse = serializers.IntegerField(allow_null=True)
    temperature_c = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    spo2 = serializers.IntegerField(allow_null=True)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    height_cm = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    bmi = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True, read_only=True)
    notes = NotesSerializer(help_text="Clinical narrative and SOAP notes (encrypted at rest).")
    diagnoses = DiagnosisSerializer(many=True)
    procedures_performed = serializers.CharField()
    advice = serializers.CharField()
    follow_up_date = serializers.DateField(allow_null=True)
    addenda = AddendumOutput(many=True, source="addenda_list")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VisitInput(serializers.Serializer[Any]):
    openapi_examples = {
        "visit_at": "2026-03-02T10:30:00+05:30",
        "chief_complaint": "Fever for three days",
        "bp_systolic": 124,
        "bp_diastolic": 82,
        "diagnoses": [{"text": "Viral fever", "icd10": "B34.9"}],
    }

    visit_at = serializers.DateTimeField(
        required=False, help_text=f"Not in the future, not before {EARLIEST_VISIT_YEAR}. Defaults to now."
    )
    location = serializers.UUIDField(help_text="Required when creating: one of the caller's locations.")
    clinician = serializers.UUIDField(required=False, allow_null=True, help_text="Defaults to the caller.")
    chief_complaint = serializers.CharField(max_length=300, required=False, allow_blank=True)
    bp_systolic = VitalIntegerField(required=False, allow_null=True, **_bounds("bp_systolic"))
    bp_diastolic = VitalIntegerField(required=False, allow_null=True, **_bounds("bp_diastolic"))
    pulse = VitalIntegerField(required=False, allow_null=True, **_bounds("pulse"))
    temperature_c = VitalDecimalField(
        max_digits=4, decimal_places=1, required=False, allow_null=True, **_bounds("temperature_c")
    )
    spo2 = VitalIntegerField(required=False, allow_null=True, **_bounds("spo2"))
    weight_kg = VitalDecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, **_bounds("weight_kg")
    )
    height_cm = VitalDecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, **_bounds("height_cm")
    )
    notes = NotesSerializer(required=False, help_text="On PATCH, replaces the notes as a whole.")
    diagnoses = DiagnosisSerializer(many=True, required=False)
    procedures_performed = serializers.CharField(required=False, allow_blank=True)
    advice = serializers.CharField(required=False, allow_blank=True)
    follow_up_date = serializers.DateField(required=False, allow_null=True)

    def validate_visit_at(self, value: Any) -> Any:
        if value is not None and value.year < EARLIEST_VISIT_YEAR:
            raise serializers.ValidationError(f"A visit cannot be recorded before {EARLIEST_VISIT_YEAR}.")
        return value

    def validate_location(self, value: Any) -> Location:
        location = locations_for(self.context["user"]).filter(pk=value).first()
        if location is None:
            raise serializers.ValidationError("Not one of your active locations.")
        return location

    def validate_clinician(self, value: Any) -> User | None:
        if value is None:
            return None
        clinician = clinician_choices().filter(pk=value).first()
        if clinician is None:
            raise serializers.ValidationError("Not an active clinician of this clinic.")
        return clinician


class AddendumInput(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=10_000)


class ItemSerializer(serializers.Serializer[PrescriptionItem]):
    drug = serializers.UUIDField(
        source="drug_id", required=False, allow_null=True, help_text="A formulary drug id, if picked from it."
    )
    drug_name = serializers.CharField(max_length=120)
    free_text = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Set to prescribe a medicine that is not in the formulary exactly as written; a line whose "
        "`drug_name` names no known medicine is refused without it.",
    )
    strength = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    form = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    dose = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    frequency = FrequencyField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="e.g. 1-0-1, 1-1-1-1, OD, BD; `SOS` or `As directed` only when meant. Required to save a line, "
        "as are `dose` and `duration`.",
    )
    route = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    duration = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    food_relation = serializers.ChoiceField(
        choices=PrescriptionItem.FoodRelation.choices, required=False, allow_blank=True, default=""
    )
    instructions = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    instructions_hi = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ItemInput(ItemSerializer):
    """A line as written. Dose, frequency and duration are required to save it: the schema says so,
    so that a schema-valid line is one the API accepts, while the service still checks every line
    and names each missing field at once (`items.<n>.<field>`), which serializer-level required
    fields would not (they stop before the medicine's own check)."""

    openapi_rules = {
        "allOf": [
            {
                "required": list(clinical.LINE_MESSAGES),
                "properties": {field: {"pattern": r"\S"} for field in clinical.LINE_MESSAGES},
            }
        ]
    }


class PrescriptionOutput(serializers.Serializer[PrescriptionModel]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    visit = serializers.UUIDField(source="visit_id", allow_null=True)
    location = RefOutput()
    prescriber = StaffRefOutput()
    status = serializers.ChoiceField(choices=PrescriptionModel.Status.choices)
    version = serializers.IntegerField()
    previous = serializers.UUIDField(source="previous_id", allow_null=True)
    general_advice = serializers.CharField()
    general_advice_hi = serializers.CharField()
    follow_up_date = serializers.DateField(allow_null=True)
    print_hindi = serializers.BooleanField()
    signed_at = serializers.DateTimeField(allow_null=True)
    verification_code = serializers.CharField(
        source="document.verification_code", allow_null=True, default=None, help_text="Once signed."
    )
    items = ItemSerializer(many=True, source="items.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PrescriptionInput(serializers.Serializer[Any]):
    openapi_examples = {"visit": None, "location": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
    # The location is the visit's unless given: one of the two is needed.
    openapi_rules = {
        "anyOf": [
            {"required": ["visit"], "properties": {"visit": {"type": "string", "format": "uuid"}}},
            {"required": ["location"]},
        ]
    }

    patient = serializers.UUIDField(help_text="Required when creating.")
    visit = serializers.UUIDField(required=False, allow_null=True)
    location = serializers.UUIDField(
        required=False, help_text="One of the caller's locations; required without `visit` (defaults to its location)."
    )
    items = ItemInput(many=True)
    general_advice = serializers.CharField(required=False, allow_blank=True)
    general_advice_hi = serializers.CharField(required=False, allow_blank=True)
    follow_up_date = serializers.DateField(required=False, allow_null=True)
    print_hindi = serializers.BooleanField(required=False)

    def validate_location(self, value: Any) -> Location:
        location = locations_for(self.context["user"]).filter(pk=value).first()
        if location is None:
            raise serializers.ValidationError("Not one of your active locations.")
        return location


class PrescriptionListQuery(serializers.Serializer[Any]):
    patient = serializers.UUIDField(required=False, help_text="Only this patient's prescriptions.")
    status = serializers.ChoiceField(choices=PrescriptionModel.Status.choices, required=False)


class VisitListQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Visit.Status.choices, required=False)


# --- helpers -------------------------------------------------------------------------------------


def _visit_data(visit: Visit) -> dict[str, Any]:
    visit.addenda_list = list(selectors.visit_addenda(visit))  # type: ignore[attr-defined]
    data = VisitOutput(visit).data
    notes = clinical.visit_notes(visit)
    data["notes"] = {key: notes.get(key, "") for key in clinical.NOTE_KEYS}
    return dict(data)


def _prescription_data(prescription: PrescriptionModel) -> dict[str, Any]:
    return dict(PrescriptionOutput(prescription).data)


def _items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**{k: v for k, v in row.items() if k != "drug_id"}, "drug": row.get("drug_id")} for row in rows]


_visit_fields = (
    "visit_at",
    "clinician",
    "chief_complaint",
    "bp_systolic",
    "bp_diastolic",
    "pulse",
    "temperature_c",
    "spo2",
    "weight_kg",
    "height_cm",
    "procedures_performed",
    "advice",
    "follow_up_date",
)

# --- visits --------------------------------------------------------------------------------------


class PatientVisitsView(APIView):
    required_capability = {"GET": "clinical.view", "POST": "clinical.edit"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="patient_visits_list",
        summary="A patient's visits",
        description="Requires `clinical.view`. Newest first; only visits at the caller's locations.",
        parameters=[VisitListQuery],
        responses={200: VisitSummaryOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["visits"],
    )
    def get(self, request: Request, id: Any) -> Response:
        patient = patient_access(user=staff_user(request), patient_id=id)
        query = VisitListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        visits = selectors.visit_list(
            user=staff_user(request), patient=patient, status=query.validated_data.get("status", "")
        )
        return paginate_records(self, request, visits, lambda visit: VisitSummaryOutput(visit).data)

    @extend_schema(
        operation_id="patient_visits_create",
        summary="Start a draft visit",
        description="Requires `clinical.edit`. The clinician defaults to the caller.",
        request=VisitInput,
        responses={201: VisitOutput, **error_responses(400, 401, 403, 404)},
        tags=["visits"],
    )
    def post(self, request: Request, id: Any) -> Response:
        patient = patient_access(user=staff_user(request), patient_id=id)
        payload = VisitInput(data=request.data, context={"user": request.user})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        visit = clinical.visit_create(
            patient=patient,
            actor=staff_user(request),
            location=data.pop("location"),
            notes=data.pop("notes", None),
            diagnoses=data.pop("diagnoses", None),
            context=audit_context(request),
            **{name: value for name, value in data.items() if name in _visit_fields},
        )
        return Response(_visit_data(selectors.visit_access(user=staff_user(request), visit_id=visit.pk)), status=201)


class VisitDetailView(APIView):
    required_capability = {"GET": "clinical.view", "PATCH": "clinical.edit"}

    @extend_schema(
        operation_id="visits_retrieve",
        summary="One visit, with notes and addenda",
        description="Requires `clinical.view`.",
        responses={200: VisitOutput, **error_responses(401, 403, 404)},
        tags=["visits"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(_visit_data(selectors.visit_access(user=staff_user(request), visit_id=id)))

    @extend_schema(
        operation_id="visits_partial_update",
        summary="Change a draft visit",
        description="Requires `clinical.edit`. A signed visit answers 400 (`signed`): add an addendum instead.",
        request=VisitInput,
        responses={200: VisitOutput, **error_responses(400, 401, 403, 404)},
        tags=["visits"],
    )
    def patch(self, request: Request, id: Any) -> Response:
        visit = selectors.visit_access(user=staff_user(request), visit_id=id)
        payload = VisitInput(data=request.data, partial=True, context={"user": request.user})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        fields = {name: value for name, value in data.items() if name in (*_visit_fields, "location")}
        clinical.visit_update(
            visit=visit,
            actor=staff_user(request),
            notes=data.get("notes"),
            diagnoses=data.get("diagnoses"),
            context=audit_context(request),
            **fields,
        )
        return Response(_visit_data(selectors.visit_access(user=staff_user(request), visit_id=id)))


class VisitSignView(APIView):
    required_capability = "clinical.sign"

    @extend_schema(
        operation_id="visits_sign",
        summary="Sign a visit",
        description="Requires `clinical.sign`. After signing, changes are addenda.",
        request=None,
        responses={200: VisitOutput, **error_responses(400, 401, 403, 404)},
        tags=["visits"],
    )
    def post(self, request: Request, id: Any) -> Response:
        visit = selectors.visit_access(user=staff_user(request), visit_id=id)
        clinical.visit_sign(visit=visit, actor=staff_user(request), context=audit_context(request))
        return Response(_visit_data(selectors.visit_access(user=staff_user(request), visit_id=id)))


class VisitAddendaView(APIView):
    required_capability = "clinical.edit"

    @extend_schema(
        operation_id="visits_addenda_create",
        summary="Add an addendum to a signed visit",
        description="Requires `clinical.edit`. The signed visit itself stays unchanged.",
        request=AddendumInput,
        responses={201: AddendumOutput, **error_responses(400, 401, 403, 404)},
        tags=["visits"],
    )
    def post(self, request: Request, id: Any) -> Response:
        visit = selectors.visit_access(user=staff_user(request), visit_id=id)
        payload = AddendumInput(data=request.data)
        payload.is_valid(raise_exception=True)
        addendum = clinical.visit_addendum_add(
            visit=visit,
            actor=staff_user(request),
            text=payload.validated_data["text"],
            context=audit_context(request),
        )
        return Response(AddendumOutput(addendum).data, status=201)


# --- prescriptions -------------------------------------------------------------------------------


class PrescriptionListView(APIView):
    required_capability = {"GET": "prescriptions.view", "POST": "prescriptions.write"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="prescriptions_list",
        summary="Prescriptions",
        description="Requires `prescriptions.view`. Newest first; filter with `patient` and `status`.",
        parameters=[PrescriptionListQuery],
        responses={200: PrescriptionOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request) -> Response:
        query = PrescriptionListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        patient = (
            patient_access(user=staff_user(request), patient_id=filters["patient"]) if filters.get("patient") else None
        )
        prescriptions = selectors.prescription_list(
            user=staff_user(request), patient=patient, status=filters.get("status", "")
        ).prefetch_related("items")
        return paginate_records(self, request, prescriptions, _prescription_data)

    @extend_schema(
        operation_id="prescriptions_create",
        summary="Write a draft prescription",
        description="Requires `prescriptions.write`. Sign it with POST /prescriptions/{id}/sign.",
        request=PrescriptionInput,
        responses={201: PrescriptionOutput, **error_responses(400, 401, 403, 404)},
        tags=["prescriptions"],
    )
    def post(self, request: Request) -> Response:
        user = staff_user(request)
        payload = PrescriptionInput(data=request.data, context={"user": user})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        patient = patient_access(user=staff_user(request), patient_id=data.pop("patient"))
        visit_id = data.pop("visit", None)
        visit = None
        if visit_id is not None:
            visit = selectors.visit_access(user=user, visit_id=visit_id)
        prescription = clinical.prescription_create(
            patient=patient,
            actor=user,
            visit=visit,
            location=data.pop("location", None),
            items=_items(data.pop("items")),
            context=audit_context(request),
            **data,
        )
        fresh = selectors.prescription_access(user=user, prescription_id=prescription.pk)
        return Response(_prescription_data(fresh), status=201)


class PrescriptionPatchInput(PrescriptionInput):
    openapi_rules: dict[str, Any] = {}
    patient = None  # type: ignore[assignment]
    visit = None  # type: ignore[assignment]


class PrescriptionDetailView(APIView):
    required_capability = {"GET": "prescriptions.view", "PATCH": "prescriptions.write"}

    @extend_schema(
        operation_id="prescriptions_retrieve",
        summary="One prescription",
        description="Requires `prescriptions.view`.",
        responses={200: PrescriptionOutput, **error_responses(401, 403, 404)},
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(_prescription_data(selectors.prescription_access(user=staff_user(request), prescription_id=id)))

    @extend_schema(
        operation_id="prescriptions_partial_update",
        summary="Change a draft prescription",
        description="Requires `prescriptions.write`. `items`, when given, replaces all lines. A signed "
        "prescription answers 400 (`signed`): revise it instead.",
        request=PrescriptionPatchInput,
        responses={200: PrescriptionOutput, **error_responses(400, 401, 403, 404)},
        tags=["prescriptions"],
    )
    def patch(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        prescription = selectors.prescription_access(user=user, prescription_id=id)
        payload = PrescriptionPatchInput(data=request.data, partial=True, context={"user": user})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        items = data.pop("items", None)
        clinical.prescription_update(
            prescription=prescription,
            actor=user,
            items=_items(items) if items is not None else None,
            context=audit_context(request),
            **data,
        )
        return Response(_prescription_data(selectors.prescription_access(user=user, prescription_id=id)))


class OverrideInput(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=120, help_text="A finding's code from GET /prescriptions/{id}/safety.")
    reason = serializers.CharField(
        max_length=clinical.OVERRIDE_REASON_MAX, help_text="Why the prescriber signs anyway (kept, never printed)."
    )


class PrescriptionSignInput(serializers.Serializer[Any]):
    overrides = OverrideInput(many=True, required=False, default=list)


class PrescriptionSignView(APIView):
    required_capability = "prescriptions.sign"

    @extend_schema(
        operation_id="prescriptions_sign",
        summary="Sign a prescription",
        description="Requires `prescriptions.sign` and a registration number on the signer's profile. "
        "Every line must be complete (400 `invalid` naming `items.<n>.<field>`). Safety findings (allergy, "
        "cross-reactivity, duplicate molecule, interaction; see GET /prescriptions/{id}/safety) each need an "
        "override with a reason, or the answer is 422 `safety_findings` naming each as `overrides.<code>`. "
        "Overrides are stored and audited, never printed. Renders and stores the PDF; a previous version "
        "becomes superseded.",
        request=PrescriptionSignInput,
        responses={
            200: PrescriptionOutput,
            **error_responses(400, 401, 403, 404),
            422: OpenApiResponse(
                ErrorSerializer,
                description="`safety_findings`: findings without an override reason, under `fields` as "
                "`overrides.<finding code>`.",
            ),
        },
        tags=["prescriptions"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        prescription = selectors.prescription_access(user=user, prescription_id=id)
        # The body is optional (signing took none before overrides existed): read it only when it is JSON.
        body = request.data if (request.content_type or "").startswith("application/json") else {}
        payload = PrescriptionSignInput(data=body or {})
        payload.is_valid(raise_exception=True)
        reasons = {row["code"]: row["reason"] for row in payload.validated_data["overrides"]}
        try:
            clinical.prescription_sign(
                prescription=prescription, actor=user, overrides=reasons, context=audit_context(request)
            )
        except clinical.SafetyFindingsUnresolved as exc:
            message = "Safety warnings need a reason to sign anyway: " + "; ".join(f.code for f in exc.findings)
            return Response(error_body("safety_findings", message, exc.message_dict), status=422)
        return Response(_prescription_data(selectors.prescription_access(user=user, prescription_id=id)))


class PrescriptionReviseView(APIView):
    required_capability = "prescriptions.write"

    @extend_schema(
        operation_id="prescriptions_revise",
        summary="Start a new version of a signed prescription",
        description="Requires `prescriptions.write`. Returns the new draft (or the existing draft revision).",
        request=None,
        responses={201: PrescriptionOutput, **error_responses(400, 401, 403, 404)},
        tags=["prescriptions"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        prescription = selectors.prescription_access(user=user, prescription_id=id)
        revision = clinical.prescription_revise(prescription=prescription, actor=user, context=audit_context(request))
        fresh = selectors.prescription_access(user=user, prescription_id=revision.pk)
        return Response(_prescription_data(fresh), status=201)


class PrescriptionPdfView(APIView):
    required_capability = "prescriptions.view"

    @extend_schema(
        operation_id="prescriptions_pdf",
        summary="The signed prescription as PDF",
        description="Requires `prescriptions.view`. Each download is audited. 404 until the prescription is signed; "
        "410 when the stored PDF fails its integrity check (or can no longer be read).",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The signed PDF."),
            **error_responses(401, 403, 404),
            410: GONE,
        },
        tags=["prescriptions"],
    )
    def get(self, request: Request, id: Any) -> HttpResponse:
        user = staff_user(request)
        prescription = selectors.prescription_access(user=user, prescription_id=id)
        if prescription.document is None:
            raise NotFound("This prescription is not signed yet, so it has no PDF.")
        try:
            data = clinical.prescription_pdf_read(prescription=prescription, actor=user, context=audit_context(request))
        except DjangoValidationError as exc:  # pragma: no cover - guarded by the check above
            raise NotFound(" ".join(exc.messages)) from exc
        except FileUnavailable as exc:
            raise FileGone(str(exc)) from exc
        return pdf_response(data, filename=f"prescription-{prescription.document.verification_code}.pdf", download=True)


# --- reference searches: medicines and ICD-10 -----------------------------------------------------

MEDICINE_API_RESULTS = 50
ICD10_API_RESULTS = 200


class MedicineSearchQuery(serializers.Serializer[Any]):
    q = serializers.CharField(
        min_length=2,
        max_length=60,
        help_text="Brand or generic name, or its start (typos tolerated): Dolo, Amoxi, Aug.",
    )
    child_weight_kg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("0.3"),
        max_value=Decimal("150"),
        required=False,
        help_text="A child's weight: reference entries with a standard paediatric dose then carry the dose "
        "worked out for it (`dose`, `frequency`, `dose_note`).",
    )


class MedicineOutput(serializers.Serializer[Any]):
    id = serializers.CharField(
        help_text="The clinic formulary drug's id (use it as `items.N.drug`); empty for reference entries."
    )
    key = serializers.CharField(help_text="A stable key of the entry.")
    source = serializers.ChoiceField(choices=["clinic", "reference"])  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=["clinic", "brand", "generic"])
    label = serializers.CharField()  # type: ignore[assignment]
    name = serializers.CharField(help_text="What to write as the line's `drug_name`.")
    strength = serializers.CharField()
    form = serializers.CharField()
    generic = serializers.CharField(help_text="The molecules with their strengths (blank if unknown).")
    maker = serializers.CharField()
    dose = serializers.CharField(help_text="The clinic's usual dose (clinic entries).")
    frequency = serializers.CharField()
    route = serializers.CharField()
    duration = serializers.CharField()
    verified = serializers.BooleanField(
        allow_null=True, help_text="Reference entries: checked against their stated source. Null for clinic entries."
    )
    nlem = serializers.BooleanField(help_text="In India's National List of Essential Medicines 2022.")
    dose_note = serializers.CharField(help_text="How a child's dose was worked out from `child_weight_kg`.")


class MedicineSearchView(APIView):
    required_capability = "prescriptions.write"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="medicines_search",
        summary="Search medicines for a prescription line",
        description="Requires `prescriptions.write`. The clinic's own formulary first (what its doctors have "
        "prescribed, with their usual dose), then the reference formulary of Indian brands and generics, by "
        f"prefix with typo tolerance; at most {MEDICINE_API_RESULTS} results. Reference entries with "
        "`verified: false` have not been checked against their source yet.",
        parameters=[MedicineSearchQuery],
        responses={200: MedicineOutput(many=True), **error_responses(400, 401, 403)},
        tags=["prescriptions"],
    )
    def get(self, request: Request) -> Response:
        query = MedicineSearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = selectors.medicine_search(
            query.validated_data["q"],
            limit=MEDICINE_API_RESULTS,
            child_weight_kg=query.validated_data.get("child_weight_kg"),
        )
        return paginate(self, request, options, lambda option: MedicineOutput(medicine_option_data(option)).data)


class Icd10SearchQuery(serializers.Serializer[Any]):
    q = serializers.CharField(
        min_length=2, max_length=80, help_text="A code or its start (J06, E11.9) or words (typhoid)."
    )


class Icd10Output(serializers.Serializer[Any]):
    code = serializers.CharField()
    description = serializers.CharField()


class Icd10SearchView(APIView):
    required_capability = "clinical.view"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="icd10_search",
        summary="Search ICD-10 codes",
        description=f"Requires `clinical.view`. The {icd10.EDITION} list, by code prefix or by the start of words "
        f"of the title; at most {ICD10_API_RESULTS} results. Diagnoses accept only codes of this list.",
        parameters=[Icd10SearchQuery],
        responses={200: Icd10Output(many=True), **error_responses(400, 401, 403)},
        tags=["visits"],
    )
    def get(self, request: Request) -> Response:
        query = Icd10SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        results = icd10.search(query.validated_data["q"], limit=ICD10_API_RESULTS)
        return paginate(
            self,
            request,
            results,
            lambda entry: Icd10Output({"code": entry.code, "description": entry.description}).data,
        )
