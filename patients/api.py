"""Patients API: list and search, register, read and update one patient.

One view per resource, small serializers, `required_capability` per method. Patients of another
clinic, or outside the caller's locations, answer 404 like unknown ids.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.guards import staff_user
from accounts.models import Location
from audit.context import audit_context
from docos.api_errors import ErrorSerializer, error_body, error_responses
from docos.api_pagination import ApiPagination
from patients import selectors, services
from patients.access import patient_access
from patients.models import BloodGroup, Patient, Sex

# --- serializers ---------------------------------------------------------------------------------


class LocationRef(serializers.Serializer[Location]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class GuardianOutput(serializers.Serializer[Patient]):
    # DRF's metaclass moves declared fields out of the class, so this does not shadow `Field.name`.
    name = serializers.CharField(source="guardian_name")  # type: ignore[assignment]
    relation = serializers.CharField(source="guardian_relation")
    phone = serializers.CharField(source="guardian_phone")


class WhatsAppConsentOutput(serializers.Serializer[Patient]):
    consented_at = serializers.DateTimeField(source="whatsapp_consent_at", allow_null=True)
    source = serializers.CharField(source="whatsapp_consent_source")  # type: ignore[assignment]
    notice_version = serializers.CharField(source="whatsapp_consent_notice_version")
    opted_out_at = serializers.DateTimeField(source="whatsapp_opted_out_at", allow_null=True)


class PatientBriefOutput(serializers.Serializer[Any]):
    """A patient in lists and search results (a selectors.PatientRow or a Patient)."""

    id = serializers.UUIDField()
    mrn = serializers.CharField(help_text="The clinic's medical record number, e.g. DEMO-000123.")
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    full_name = serializers.CharField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = serializers.DateField(allow_null=True)
    dob_is_estimated = serializers.BooleanField()
    age = serializers.IntegerField(source="age_years", allow_null=True)
    phone = serializers.CharField(help_text="E.164, e.g. +919845012345.")
    registered_location = serializers.SerializerMethodField()

    @extend_schema_field(LocationRef)
    def get_registered_location(self, patient: Any) -> dict[str, Any]:
        # Search results carry the name as an annotation (no second model per row).
        name = getattr(patient, "location_name", None)
        if name is None:
            name = patient.registered_location.name
        return {"id": patient.registered_location_id, "name": name}


class PatientOutput(PatientBriefOutput):
    whatsapp_number = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    pin_code = serializers.CharField()
    blood_group = serializers.CharField()
    allergies = serializers.CharField()
    chronic_conditions = serializers.CharField()
    emergency_contact_name = serializers.CharField()
    emergency_contact_phone = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    abha_number = serializers.CharField()
    aadhaar_last4 = serializers.CharField()
    guardian = GuardianOutput(source="*")
    is_minor = serializers.BooleanField()
    contact_number = serializers.CharField(help_text="Where messages go: the guardian's phone for minors.")
    whatsapp_consent = WhatsAppConsentOutput(source="*")
    external_ref = serializers.CharField()
    is_active = serializers.BooleanField()
    merged_into = serializers.UUIDField(source="merged_into_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_field({"type": "string", "format": "phone", "maxLength": 32, "example": "+91 98450 12345"})
class PhoneInputField(serializers.CharField):
    """A phone number in any common way of writing it (98450 12345, +91-98450-12345, 080-2345 6789);
    numbers of other countries with their + prefix. Documented with the custom format `phone`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, required=False, allow_blank=True, **kwargs)


def _pattern(pattern: str, example: str) -> Any:
    """A text field documented with the pattern the service checks (blank is allowed besides)."""
    return extend_schema_field({"type": "string", "pattern": pattern, "example": example})


@extend_schema_field({"type": "string", "enum": services.INDIAN_STATES, "example": "Karnataka"})
class StateField(serializers.CharField):
    pass


@_pattern(r"^[1-9][0-9]{5}$", "560034")
class PinCodeField(serializers.CharField):
    pass


@_pattern(r"^[0-9]{2}-?[0-9]{4}-?[0-9]{4}-?[0-9]{4}$", "12-3456-7890-1234")
class AbhaNumberField(serializers.CharField):
    pass


@_pattern(r"^[0-9]{4}$", "1234")
class AadhaarLast4Field(serializers.CharField):
    pass


class PatientInput(serializers.Serializer[Any]):
    """Phone numbers in any common format (98450 12345, +91-98450-12345); stored as E.164.

    Free text must not contain an Aadhaar number. A patient under 18 (by `date_of_birth` or
    `age_years`) needs `guardian_name`, `guardian_relation` and `guardian_phone`."""

    openapi_examples = {
        "given_name": "Asha",
        "family_name": "Verma",
        "sex": "F",
        "date_of_birth": "1988-04-12",
        "email": "asha.verma@example.in",
        "city": "Bengaluru",
        "registered_location": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "tags": ["diabetic"],
        "guardian_name": "",
        "guardian_relation": "",
        "guardian_phone": "",
        "abha_number": "",
        "aadhaar_last4": "",
        "external_ref": "",
    }

    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    date_of_birth = serializers.DateField(
        required=False, allow_null=True, help_text="Not in the future and at most 125 years ago."
    )
    age_years = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=125,
        help_text="When the date of birth is not known: the date is then estimated. Ignored with date_of_birth.",
    )
    phone = PhoneInputField()
    whatsapp_number = PhoneInputField(help_text="A mobile number.")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    city = serializers.CharField(max_length=80, required=False, allow_blank=True)
    state = StateField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="An Indian state or union territory (two-letter codes such as KA are understood too).",
    )
    pin_code = PinCodeField(max_length=7, required=False, allow_blank=True, help_text="6 digits, not starting with 0.")
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices, required=False, allow_blank=True)
    allergies = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    chronic_conditions = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    emergency_contact_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    emergency_contact_phone = PhoneInputField()
    registered_location = serializers.UUIDField(help_text="One of the caller's active locations (GET /locations).")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=services.MAX_TAGS
    )
    abha_number = AbhaNumberField(
        max_length=20, required=False, allow_blank=True, help_text="14 digits, e.g. 12-3456-7890-1234."
    )
    aadhaar_last4 = AadhaarLast4Field(
        max_length=20, required=False, allow_blank=True, help_text="Only the last 4 digits; a full number is refused."
    )
    guardian_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    guardian_relation = serializers.CharField(max_length=40, required=False, allow_blank=True)
    guardian_phone = PhoneInputField()
    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("whatsapp_consent", None)
        data.pop("confirm_duplicate", None)
        age = data.pop("age_years", None)
        if age is not None and not data.get("date_of_birth"):
            data["date_of_birth"] = services.estimated_dob(age)
            data["dob_is_estimated"] = True
        elif "date_of_birth" in data:
            data["dob_is_estimated"] = False
        return data


class PatientCreateInput(PatientInput):
    whatsapp_consent = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The patient agreed to WhatsApp messages after the clinic's privacy notice was explained.",
    )
    confirm_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Set after a 409 `possible_duplicate` answer, once you checked it is a different person.",
    )


class PatientListQuery(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Name (spelling variants and prefixes match), phone in any format or its last digits, MRN or ABHA.",
    )


# --- views ---------------------------------------------------------------------------------------


def _duplicate_response(exc: services.PossibleDuplicates) -> Response:
    lines = [f"{c.patient.mrn}: {', '.join(c.reasons)}" for c in exc.candidates]
    body = error_body("possible_duplicate", exc.messages[0], {"confirm_duplicate": lines})
    return Response(body, status=status.HTTP_409_CONFLICT)


_DUPLICATE_409 = OpenApiResponse(
    ErrorSerializer,
    description="`possible_duplicate`: similar patients exist (listed by MRN in `fields.confirm_duplicate`). "
    "Repeat with `confirm_duplicate: true` if this is a different person.",
)


class PatientListView(APIView):
    required_capability = {"GET": "patients.view", "POST": "patients.edit"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="patients_list",
        summary="List or search patients",
        description=(
            "Requires `patients.view`. Without `q`: active patients, newest first. With `q`: the best matches first "
            "(at most 200 matches for a name, names that start with the letters typed first; when fewer than 20 match "
            "exactly, up to 20 similar names (one typo away) follow them, and `count` includes them). "
            "Staff restricted to locations see patients registered or seen at those locations."
        ),
        parameters=[PatientListQuery],
        responses={200: PatientBriefOutput(many=True), **error_responses(400, 401, 403)},
        tags=["patients"],
    )
    def get(self, request: Request) -> Response:
        query = PatientListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.patient_search(user=staff_user(request), query=query.validated_data.get("q", ""))
        paginator = ApiPagination()
        rows = selectors.as_rows(paginator.paginate_queryset(found.queryset, request, view=self) or [])
        return paginator.get_paginated_response(PatientBriefOutput(cast(Any, rows), many=True).data)

    @extend_schema(
        operation_id="patients_create",
        summary="Register a patient",
        description=(
            "Requires `patients.edit`. Gives the patient the clinic's next MRN. Patients under 18 need a guardian "
            "(name, relation, phone). A full Aadhaar number is refused anywhere. Answers 409 `possible_duplicate` "
            "when a patient with the same phone, or a similar name and the same date of birth, exists."
        ),
        request=PatientCreateInput,
        responses={201: PatientOutput, 409: _DUPLICATE_409, **error_responses(400, 401, 403)},
        tags=["patients"],
    )
    def post(self, request: Request) -> Response:
        data = PatientCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            patient = services.patient_create(
                actor=staff_user(request),
                context=audit_context(request),
                duplicates_confirmed=data.validated_data["confirm_duplicate"],
                whatsapp_consent=data.validated_data["whatsapp_consent"],
                consent_source="api",
                source="api",
                **data.service_fields(),
            )
        except services.PossibleDuplicates as exc:
            return _duplicate_response(exc)
        patient = patient_access(user=staff_user(request), patient_id=patient.pk)
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailView(APIView):
    required_capability = {"GET": "patients.view", "PATCH": "patients.edit", "PUT": "patients.edit"}

    def _get(self, request: Request, id: Any) -> Patient:
        return patient_access(user=staff_user(request), patient_id=id)

    @extend_schema(
        operation_id="patients_retrieve",
        summary="One patient",
        description="Requires `patients.view`. Unknown ids, other clinics' and other locations' patients give 404.",
        responses={200: PatientOutput, **error_responses(401, 403, 404)},
        tags=["patients"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(PatientOutput(self._get(request, id)).data)

    def _update(self, request: Request, id: Any, *, partial: bool) -> Response:
        patient = self._get(request, id)
        data = PatientInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.patient_update(
            patient=patient, actor=staff_user(request), context=audit_context(request), **data.service_fields()
        )
        return Response(PatientOutput(self._get(request, id)).data)

    @extend_schema(
        operation_id="patients_partial_update",
        summary="Change some details of a patient",
        description="Requires `patients.edit`. Only the fields sent change. Same rules as registration.",
        request=PatientInput(partial=True),
        responses={200: PatientOutput, **error_responses(400, 401, 403, 404)},
        tags=["patients"],
    )
    def patch(self, request: Request, id: Any) -> Response:
        return self._update(request, id, partial=True)

    @extend_schema(
        operation_id="patients_update",
        summary="Replace the details of a patient",
        description="Requires `patients.edit`. `given_name` and `registered_location` are required; "
        "optional fields left out keep their value.",
        request=PatientInput,
        responses={200: PatientOutput, **error_responses(400, 401, 403, 404)},
        tags=["patients"],
    )
    def put(self, request: Request, id: Any) -> Response:
        return self._update(request, id, partial=False)
