"""The consent log over the API: `GET|POST /api/v1/patients/{id}/consents` (patients.consents).

The patient is fetched through the patients access function: another clinic's or branch's patient,
and an unknown id, give the same 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import StaffRefOutput
from accounts.guards import staff_user
from audit.context import audit_context
from docos.api_errors import error_responses
from docos.api_pagination import ApiPagination, paginate
from patients import consents
from patients.access import patient_access
from patients.models import ConsentAction, ConsentChannel, ConsentGivenBy, ConsentPurpose, PatientConsent


class ConsentLogEntryOutput(serializers.Serializer[PatientConsent]):
    id = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    action = serializers.ChoiceField(choices=ConsentAction.choices)
    given_by = serializers.ChoiceField(choices=ConsentGivenBy.choices)
    guardian_name = serializers.CharField(help_text="Empty unless given by a guardian.")
    guardian_relation = serializers.CharField()
    notice_version = serializers.CharField(help_text="The version of the clinic's privacy notice shown.")
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    recorded_by = StaffRefOutput(
        allow_null=True, help_text="The staff member (or API token owner); null: the patient, e.g. WhatsApp START/STOP."
    )
    recorded_at = serializers.DateTimeField()
    note = serializers.CharField(allow_null=True)


class ConsentLogInput(serializers.Serializer[Any]):
    openapi_examples = {
        "purpose": "whatsapp_reminders",
        "action": "granted",
        "given_by": "guardian",
        "guardian_name": "Suresh Iyer",
        "guardian_relation": "Father",
        "channel": "in_person",
        "note": "Consent form no. 2231",
    }

    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    action = serializers.ChoiceField(choices=ConsentAction.choices, required=False, default=ConsentAction.GRANTED)
    given_by = serializers.ChoiceField(choices=ConsentGivenBy.choices, required=False, default=ConsentGivenBy.PATIENT)
    guardian_name = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="With `given_by: guardian`; empty takes the guardian on the patient's record.",
    )
    guardian_relation = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in consents.RECORDABLE_CHANNELS],
        required=False,
        default=ConsentChannel.API,
        help_text="How the patient (or guardian) gave the decision.",
    )
    notice_version = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="The privacy notice version shown; empty: the clinic's current one.",
    )
    note = serializers.CharField(max_length=consents.NOTE_MAX, required=False, allow_blank=True, default="")


def _data(row: PatientConsent) -> dict[str, Any]:
    return dict(ConsentLogEntryOutput(row).data)


class PatientConsentsView(APIView):
    required_capability = {"GET": "patients.view", "POST": "patients.edit"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="patients_consents_list",
        summary="A patient's consent log",
        description="Requires `patients.view`. Every decision, newest first; the newest per `purpose` is the "
        "patient's current choice. Unknown ids, other clinics' and other locations' patients give 404.",
        responses={200: ConsentLogEntryOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["patients"],
    )
    def get(self, request: Request, id: Any) -> Response:
        patient = patient_access(user=staff_user(request), patient_id=id)
        return paginate(self, request, consents.consent_history(patient), _data)

    @extend_schema(
        operation_id="patients_consents_create",
        summary="Record a consent decision",
        description="Requires `patients.edit`. Appends a grant or a withdrawal for one purpose (the log is "
        "never changed). `given_by: guardian` needs `guardian_name` unless the patient's record names a "
        "guardian (400 naming `guardian_name`). For a patient under 18, WhatsApp reminders and marketing are "
        "allowed only by a guardian's grant. A withdrawal of `whatsapp_reminders` or `marketing` fails the "
        "patient's queued WhatsApp notifications at once. The same decision posted again by the same user "
        "within 30 seconds (a retry) returns the row already recorded. A merged record answers 400.",
        request=ConsentLogInput,
        responses={201: ConsentLogEntryOutput, **error_responses(400, 401, 403, 404)},
        tags=["patients"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        patient = patient_access(user=user, patient_id=id)
        payload = ConsentLogInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        row = consents.consent_record(
            patient=patient,
            actor=user,
            context=audit_context(request),
            notice_version=data.pop("notice_version") or None,
            **data,
        )
        return Response(_data(row), status=status.HTTP_201_CREATED)
