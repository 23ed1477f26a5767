"""Appointments API (/api/v1/): list, book, change, cancel and move appointments through their
states, and free slots. One view per resource, small serializers, `required_capability` per method;
reads go through the location-scoped selectors (other clinics' and locations' ids give 404).

Times are ISO 8601 with their UTC offset (`2026-11-23T10:30:00+05:30`); naive times are refused
rather than guessed. A clash with another booking answers 409 `slot_taken`; an action the
appointment's state does not allow answers 409 `illegal_transition`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import RefOutput
from accounts.guards import staff_user
from accounts.models import User
from appointments import selectors, services
from appointments.models import Appointment, QueueEntry
from appointments.schedule import free_slots, location_tz
from audit.context import audit_context
from clinical.selectors import visit_access
from docos.api_errors import ErrorSerializer, error_responses
from docos.api_pagination import ApiPagination, paginate
from patients.api_refs import PatientRefOutput


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the appointment's current state."
    default_code = "conflict"


def _conflict_responses() -> dict[int, OpenApiResponse]:
    return {409: OpenApiResponse(ErrorSerializer, description="`slot_taken` or `illegal_transition`.")}


def _call(service: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service; clashes and refused transitions become 409 with the service's message."""
    try:
        return service(**kwargs)
    except services.SlotTaken as exc:
        raise Conflict(" ".join(exc.messages), code="slot_taken") from exc
    except DjangoValidationError as exc:
        if getattr(exc, "code", None) == "illegal_transition":
            raise Conflict(" ".join(exc.messages), code="illegal_transition") from exc
        raise


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):  # type: ignore[type-arg]
    """An ISO 8601 date-time that must carry its UTC offset."""

    default_error_messages = {
        "invalid": "Use an ISO 8601 date-time with its UTC offset, e.g. 2026-11-23T10:30:00+05:30.",
        "naive": "Include the UTC offset, e.g. 2026-11-23T10:30:00+05:30; times are not guessed.",
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        try:
            value = parse_datetime(str(data))
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        assert value is not None
        if timezone.is_naive(value):
            self.fail("naive")
        # As UTC: any RFC 3339 offset is valid (up to +-23:59), PostgreSQL takes at most +-15:59.
        return value.astimezone(dt.UTC)

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


# --- serializers ---------------------------------------------------------------------------------


class ClinicianOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    full_name = serializers.CharField()


class TypeOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    colour = serializers.CharField()


class ReminderOutput(serializers.Serializer[Any]):
    rule = serializers.CharField(source="rule.name")
    due_at = serializers.DateTimeField()
    send_after = serializers.DateTimeField(help_text="The due time moved out of the clinic's quiet hours.")
    status = serializers.CharField(help_text="scheduled, sending, sent, delivered, read, failed, skipped, cancelled.")
    reason = serializers.CharField(help_text="Why failed, skipped or cancelled (a code, e.g. `no_whatsapp_consent`).")
    reason_text = serializers.CharField(help_text="The same reason as a sentence for staff.")
    sent_at = serializers.DateTimeField(allow_null=True)


class AppointmentOutput(serializers.Serializer[Appointment]):
    id = serializers.UUIDField()
    patient = PatientRefOutput()
    clinician = ClinicianOutput()
    location = RefOutput()
    appointment_type = TypeOutput()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    local_start = serializers.SerializerMethodField(help_text="The start in the location's time zone.")
    timezone = serializers.CharField(source="location.timezone")
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    is_overbooked = serializers.BooleanField()
    source = serializers.ChoiceField(choices=Appointment.Source.choices)  # type: ignore[assignment]
    notes = serializers.CharField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    reschedule_requested_at = serializers.DateTimeField(allow_null=True)
    checked_in_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    cancel_note = serializers.CharField()
    visit = serializers.UUIDField(source="visit_id", allow_null=True)
    queue_token = serializers.SerializerMethodField()
    reminders = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_local_start(self, obj: Appointment) -> str:
        return obj.starts_at.astimezone(location_tz(obj.location)).isoformat()

    @extend_schema_field({"type": "integer", "nullable": True, "description": "Once checked in."})
    def get_queue_token(self, obj: Appointment) -> int | None:
        entry = QueueEntry.objects.filter(appointment=obj).only("token").first()
        return entry.token if entry else None

    @extend_schema_field(ReminderOutput(many=True))
    def get_reminders(self, obj: Appointment) -> list[dict[str, Any]]:
        return list(ReminderOutput(selectors.reminders_of(obj), many=True).data)


class AppointmentInput(serializers.Serializer[Any]):
    # A far-future example, so the example stays bookable (outside hours, with no clash) for years.
    openapi_examples = {
        "starts_at": "2036-11-24T10:30:00+05:30",
        "notes": "Follow-up for blood sugar",
        "outside_hours": True,
        "overbook": False,
    }
    patient = serializers.UUIDField(help_text="Required when booking.")
    clinician = serializers.UUIDField(help_text="The doctor (required when booking).")
    location = serializers.UUIDField(help_text="One of the caller's locations (required when booking).")
    appointment_type = serializers.UUIDField(required=False, help_text="Defaults to the first active type.")
    starts_at = AwareDateTimeField(help_text="With its UTC offset, e.g. 2026-11-23T10:30:00+05:30.")
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1000)
    overbook = serializers.BooleanField(
        required=False, default=False, help_text="Book even if the doctor is busy then (if the clinic allows it)."
    )
    outside_hours = serializers.BooleanField(
        required=False, default=False, help_text="Book outside the doctor's working hours, explicitly."
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Appointment.Source.choices, required=False, default="api"
    )


class AppointmentPatchInput(AppointmentInput):
    patient = None  # type: ignore[assignment]
    clinician = serializers.UUIDField(required=False)
    location = serializers.UUIDField(required=False)
    starts_at = AwareDateTimeField(required=False, help_text="A new start moves (reschedules) the appointment.")
    source = None  # type: ignore[assignment]


class AppointmentListQuery(serializers.Serializer[Any]):
    date = serializers.DateField(required=False, help_text="Local date at the location (the clinic's without one).")
    days = serializers.IntegerField(required=False, min_value=1, max_value=31, default=1)
    doctor = serializers.UUIDField(required=False)
    location = serializers.UUIDField(required=False)
    patient = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(
        choices=[*Appointment.Status.choices, ("active", "Active")], required=False, allow_blank=True
    )


# Staff cancel with one of these; "patient_whatsapp" is set only by the patient's own reply.
CANCEL_REASONS = [c for c in Appointment.CancelReason.choices if c[0] != Appointment.CancelReason.PATIENT_WHATSAPP]


class CancelInput(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=CANCEL_REASONS)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CompleteInput(serializers.Serializer[Any]):
    openapi_examples = {"visit": None}
    visit = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="An existing visit of the patient to link; else a clinician's call opens a draft.",
    )


class AvailabilityQuery(serializers.Serializer[Any]):
    doctor = serializers.UUIDField()
    location = serializers.UUIDField()
    date = serializers.DateField(help_text="Local date at the location.")
    type = serializers.UUIDField(required=False, help_text="Appointment type (slot length); default: the first.")


class SlotOutput(serializers.Serializer[Any]):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    local_time = serializers.CharField(help_text="HH:MM at the location.")


class AvailabilityOutput(serializers.Serializer[Any]):
    date = serializers.DateField()
    doctor = serializers.UUIDField()
    location = serializers.UUIDField()
    timezone = serializers.CharField()
    appointment_type = TypeOutput()
    closed = serializers.CharField(allow_null=True, help_text="The holiday's name when the location is closed.")
    slots = SlotOutput(many=True)


# --- helpers -------------------------------------------------------------------------------------


def _data(appointment: Appointment) -> dict[str, Any]:
    return dict(AppointmentOutput(appointment).data)


def _fresh(request: Request, appointment_id: Any) -> dict[str, Any]:
    return _data(selectors.appointment_access(user=staff_user(request), appointment_id=appointment_id))


def _type(type_id: Any) -> Any:
    if type_id is None:
        found = selectors.default_appointment_type()
        if found is None:
            raise DjangoValidationError({"appointment_type": "The clinic has no appointment types yet."})
        return found
    found = selectors.appointment_types().filter(pk=type_id).first()
    if found is None:
        raise DjangoValidationError({"appointment_type": "Not an active appointment type of this clinic."})
    return found


def _clinician(clinician_id: Any) -> User:
    found = selectors.clinician_choices().filter(pk=clinician_id).first()
    if found is None:
        raise DjangoValidationError({"clinician": "Not an active doctor or clinician of this clinic."})
    return found


def _location(request: Request, location_id: Any) -> Any:
    from accounts.selectors import locations_for

    found = locations_for(staff_user(request)).filter(pk=location_id).first()
    if found is None:
        raise DjangoValidationError({"location": "Not one of your active locations."})
    return found


# --- views ---------------------------------------------------------------------------------------


class AppointmentListView(APIView):
    required_capability = {"GET": "appointments.view", "POST": "appointments.manage"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="appointments_list",
        summary="Appointments",
        description="Requires `appointments.view`. Filter by local `date` (+ `days`), `doctor`, `location`, "
        "`patient` and `status` (`active` = booked, confirmed, checked in or in consultation). Only the caller's "
        "locations. Ordered by start.",
        parameters=[AppointmentListQuery],
        responses={200: AppointmentOutput(many=True), **error_responses(400, 401, 403)},
        tags=["appointments"],
    )
    def get(self, request: Request) -> Response:
        query = AppointmentListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        user = staff_user(request)
        location = selectors.location_get(user=user, location_id=filters["location"]) if "location" in filters else None
        appointments = selectors.appointment_list(
            user=user,
            day=filters.get("date"),
            days=filters.get("days", 1),
            clinician=selectors.clinician_get(filters["doctor"]) if "doctor" in filters else None,
            location=location,
            patient=selectors.patient_for_booking(user=staff_user(request), patient_id=filters["patient"])
            if "patient" in filters
            else None,
            status=filters.get("status", ""),
        )
        return paginate(self, request, appointments, _data)

    @extend_schema(
        operation_id="appointments_create",
        summary="Book an appointment",
        description="Requires `appointments.manage`. Refused in the past, outside the doctor's working time "
        "(unless `outside_hours`), and with 409 `slot_taken` when the doctor is already booked then (unless "
        "`overbook` and the clinic allows overbooking).",
        request=AppointmentInput,
        responses={201: AppointmentOutput, **error_responses(400, 401, 403, 404), **_conflict_responses()},
        tags=["appointments"],
    )
    def post(self, request: Request) -> Response:
        payload = AppointmentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        appointment = _call(
            services.appointment_book,
            patient=selectors.patient_for_booking(user=staff_user(request), patient_id=data["patient"]),
            clinician=_clinician(data["clinician"]),
            location=_location(request, data["location"]),
            appointment_type=_type(data.get("appointment_type")),
            starts_at=data["starts_at"],
            notes=data.get("notes"),
            overbook=data.get("overbook", False),
            outside_hours=data.get("outside_hours", False),
            source=data.get("source", Appointment.Source.API),
            actor=staff_user(request),
            context=audit_context(request),
        )
        return Response(_fresh(request, appointment.pk), status=201)


class AppointmentDetailView(APIView):
    required_capability = {"GET": "appointments.view", "PATCH": "appointments.manage"}

    @extend_schema(
        operation_id="appointments_retrieve",
        summary="One appointment, with its reminders",
        description="Requires `appointments.view`.",
        responses={200: AppointmentOutput, **error_responses(401, 403, 404)},
        tags=["appointments"],
    )
    def get(self, request: Request, id: Any) -> Response:
        return Response(_fresh(request, id))

    @extend_schema(
        operation_id="appointments_partial_update",
        summary="Change an appointment",
        description="Requires `appointments.manage`. `starts_at`, `clinician`, `location` or `appointment_type` "
        "reschedule it (booked or confirmed appointments only; unsent reminders are planned again); `notes` "
        "changes the notes.",
        request=AppointmentPatchInput,
        responses={200: AppointmentOutput, **error_responses(400, 401, 403, 404), **_conflict_responses()},
        tags=["appointments"],
    )
    def patch(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        appointment = selectors.appointment_access(user=user, appointment_id=id)
        payload = AppointmentPatchInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        moves = {"starts_at", "clinician", "location", "appointment_type", "overbook", "outside_hours"} & set(data)
        if moves:
            _call(
                services.appointment_reschedule,
                appointment=appointment,
                starts_at=data.get("starts_at", appointment.starts_at),
                clinician=_clinician(data["clinician"]) if "clinician" in data else None,
                location=_location(request, data["location"]) if "location" in data else None,
                appointment_type=_type(data["appointment_type"]) if "appointment_type" in data else None,
                overbook=data.get("overbook", False),
                outside_hours=data.get("outside_hours", False),
                actor=user,
                context=audit_context(request),
            )
        if "notes" in data:
            services.appointment_update_notes(
                appointment=appointment, notes=data["notes"], actor=user, context=audit_context(request)
            )
        return Response(_fresh(request, id))


class AppointmentCancelView(APIView):
    required_capability = "appointments.manage"

    @extend_schema(
        operation_id="appointments_cancel",
        summary="Cancel an appointment",
        description="Requires `appointments.manage`. A reason is required (`other` needs a note). Booked, "
        "confirmed or checked-in appointments only (409 `illegal_transition` otherwise).",
        request=CancelInput,
        responses={200: AppointmentOutput, **error_responses(400, 401, 403, 404), **_conflict_responses()},
        tags=["appointments"],
    )
    def post(self, request: Request, id: Any) -> Response:
        appointment = selectors.appointment_access(user=staff_user(request), appointment_id=id)
        payload = CancelInput(data=request.data)
        payload.is_valid(raise_exception=True)
        _call(
            services.appointment_cancel,
            appointment=appointment,
            reason=payload.validated_data["reason"],
            note=payload.validated_data.get("note", ""),
            actor=staff_user(request),
            context=audit_context(request),
        )
        return Response(_fresh(request, id))


def _act(request: Request, id: Any, service: Callable[..., Any], **extra: Any) -> Response:
    user = staff_user(request)
    appointment = selectors.appointment_access(user=user, appointment_id=id)
    _call(service, appointment=appointment, actor=user, context=audit_context(request), **extra)
    return Response(_fresh(request, id))


_ACTION_RESPONSES = {200: AppointmentOutput, **error_responses(400, 401, 403, 404), **_conflict_responses()}


def _action_view(service: Callable[..., Any], operation: str, summary: str, when: str) -> type[APIView]:
    """The POST endpoint (appointments.manage) of a state action that takes no request body."""

    class ActionView(APIView):
        required_capability = "appointments.manage"

        @extend_schema(
            operation_id=f"appointments_{operation}",
            summary=summary,
            description=f"Requires `appointments.manage`. {when}",
            request=None,
            responses=_ACTION_RESPONSES,
            tags=["appointments"],
        )
        def post(self, request: Request, id: Any) -> Response:
            return _act(request, id, service)

    ActionView.__name__ = ActionView.__qualname__ = f"Appointment{operation.title().replace('_', '')}View"
    return ActionView


AppointmentCheckInView = _action_view(
    services.appointment_check_in, "check_in", "Check a patient in", "On the appointment's day; gives a queue token."
)
AppointmentStartView = _action_view(
    services.appointment_start, "start", "Start the consultation", "For checked-in appointments."
)
AppointmentNoShowView = _action_view(
    services.appointment_mark_no_show,
    "no_show",
    "Mark a no-show",
    "Booked or confirmed appointments, after the start time.",
)


class AppointmentCompleteView(APIView):
    required_capability = "appointments.manage"

    @extend_schema(
        operation_id="appointments_complete",
        summary="Complete an appointment",
        description="Requires `appointments.manage`. Links `visit` (the same patient's), or, when the caller "
        "writes visits (`clinical.edit`), opens a draft visit for the appointment's clinician and location; "
        "otherwise no visit is linked.",
        request=CompleteInput,
        responses=_ACTION_RESPONSES,
        tags=["appointments"],
    )
    def post(self, request: Request, id: Any) -> Response:
        payload = CompleteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        visit_id = payload.validated_data.get("visit")
        visit = None
        if visit_id is not None:
            try:
                visit = visit_access(user=staff_user(request), visit_id=visit_id)
            except Http404:
                raise DjangoValidationError({"visit": "No such visit."}) from None
        return _act(request, id, services.appointment_complete, visit=visit)


class AvailabilityView(APIView):
    required_capability = "appointments.view"

    @extend_schema(
        operation_id="availability",
        summary="Free slots of a doctor at a location on a day",
        description="Requires `appointments.view`. Slots of the appointment type's length within the doctor's "
        "working hours there, minus breaks, leaves, holidays, existing bookings (at any location) and the past.",
        parameters=[AvailabilityQuery],
        responses={200: AvailabilityOutput, **error_responses(400, 401, 403, 404)},
        tags=["appointments"],
    )
    def get(self, request: Request) -> Response:
        query = AvailabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        user = staff_user(request)
        location = selectors.location_get(user=user, location_id=data["location"])
        clinician = selectors.clinician_get(data["doctor"])
        appointment_type = _type(data.get("type"))
        tz = location_tz(location)
        from appointments.schedule import holiday_on

        holiday = holiday_on(data["date"], location)
        found = free_slots(clinician=clinician, location=location, day=data["date"], appointment_type=appointment_type)
        return Response(
            {
                "date": data["date"].isoformat(),
                "doctor": str(clinician.pk),
                "location": str(location.pk),
                "timezone": location.timezone,
                "appointment_type": TypeOutput(appointment_type).data,
                "closed": holiday.name if holiday else None,
                "slots": [
                    {
                        "starts_at": slot.starts_at.isoformat(),
                        "ends_at": slot.ends_at.isoformat(),
                        "local_time": slot.starts_at.astimezone(tz).strftime("%H:%M"),
                    }
                    for slot in found
                ],
            }
        )
