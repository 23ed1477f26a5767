"""WhatsApp inbox API (/api/v1/): conversations, their messages both ways, replies, mark read.

One view per resource, small serializers, `required_capability` per method. Every conversation id
goes through `selectors.conversation_access` (the patient's branch rules: another clinic's,
another branch's and a missing id all answer 404). A reply is refused with 400 outside WhatsApp's
24-hour customer-service window (`window_closed`: send an approved `template` instead) and for a
person who opted out (`opted_out`).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_refs import RefOutput
from accounts.guards import staff_user
from audit.context import audit_context
from docos.api_errors import error_responses
from docos.api_pagination import ApiPagination, paginate
from messaging import inbox, selectors
from messaging.models import Contact, MediaStatus, OutboundMessage
from patients.access import patient_access
from patients.api_refs import PatientRefOutput

TEMPLATE_CHOICES = [(f"{t.name}:{t.language}", t.label) for t in inbox.INBOX_TEMPLATES]
DIRECTIONS = [("in", "From the patient"), ("out", "From the clinic")]
OUT_STATUSES = [("", "Inbound (no delivery status)"), *OutboundMessage.Status.choices]


class ConversationOutput(serializers.Serializer[Contact]):
    id = serializers.UUIDField()
    name = serializers.SerializerMethodField(help_text="The patient's name, else the WhatsApp profile name.")
    phone = serializers.CharField(allow_null=True, help_text="E.164; null when WhatsApp withholds the number.")
    patient = PatientRefOutput(allow_null=True)
    location = serializers.SerializerMethodField(help_text="The patient's registered branch.")
    opted_out = serializers.SerializerMethodField(help_text="Sent STOP: nothing can be sent to them.")
    unread_count = serializers.SerializerMethodField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    window_closes_at = serializers.SerializerMethodField(
        help_text="Until when a free-form reply is allowed (24 hours after their last message); null: closed."
    )

    def get_name(self, obj: Contact) -> str:
        return selectors.conversation_label(obj)

    @extend_schema_field(RefOutput(allow_null=True))
    def get_location(self, obj: Contact) -> dict[str, Any] | None:
        location = obj.patient.registered_location if obj.patient is not None else None
        return {"id": str(location.pk), "name": location.name} if location is not None else None

    def get_opted_out(self, obj: Contact) -> bool:
        return inbox.contact_opted_out(obj)

    def get_unread_count(self, obj: Contact) -> int:
        count = getattr(obj, "unread_count", None)
        return int(count) if count is not None else selectors.unread_count(obj)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_window_closes_at(self, obj: Contact) -> str | None:
        closes = selectors.window_closes_at(obj)
        return closes.isoformat() if closes else None


class MediaOutput(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=MediaStatus.choices, source="media_status")
    content_type = serializers.CharField(source="media_content_type")
    filename = serializers.CharField(source="media_filename", allow_null=True)
    size = serializers.IntegerField(source="media_size", allow_null=True, min_value=0)


class MessageOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=DIRECTIONS)
    kind = serializers.CharField(help_text="text, template, button, interactive, image, document, audio, ...")
    text = serializers.CharField(help_text="The text, caption or reply title; a template's name and values.")
    at = serializers.DateTimeField(help_text="When it was sent (WhatsApp's time for inbound messages).")
    status = serializers.ChoiceField(choices=OUT_STATUSES, help_text="Outbound only: the delivery status.")
    failure = serializers.CharField(help_text="Outbound failed only: why, as a sentence for staff.")
    template_name = serializers.CharField()
    media = MediaOutput(allow_null=True)


class ConversationListQuery(serializers.Serializer[Any]):
    location = serializers.UUIDField(required=False, help_text="Only patients registered at this branch.")
    patient = serializers.UUIDField(required=False, help_text="Only this patient's conversations.")
    unread = serializers.BooleanField(required=False, default=False, help_text="Only with unread messages.")
    opted_out = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only opted out; false: only not."
    )


class SendInput(serializers.Serializer[Any]):
    openapi_examples = {"body": "Namaste, your report is ready. Please come after 5 pm."}
    body = serializers.CharField(
        required=False, max_length=4096, help_text="A free-form text (inside the 24-hour window only)."
    )
    template = serializers.ChoiceField(
        choices=TEMPLATE_CHOICES, required=False, help_text="An approved template `<name>:<language>` instead."
    )
    idempotency_key = serializers.CharField(
        required=False,
        min_length=1,
        max_length=100,
        help_text="Repeat a request with the same key to get the first message back instead of sending twice.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("body" in attrs) == ("template" in attrs):
            raise serializers.ValidationError("Give either `body` or `template`, not both or neither.")
        return attrs


def _message_data(line: selectors.ConversationMessage) -> dict[str, Any]:
    return dict(MessageOutput(line).data)


class ConversationListView(APIView):
    required_capability = "messaging.view"
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="conversations_list",
        summary="WhatsApp conversations",
        description="Requires `messaging.view`. Newest message first, with unread counts. Only conversations of "
        "patients the caller may open; conversations not linked to a patient only for staff of every branch.",
        parameters=[ConversationListQuery],
        responses={200: ConversationOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["messaging"],
    )
    def get(self, request: Request) -> Response:
        query = ConversationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        user = staff_user(request)
        patient = patient_access(user=user, patient_id=filters["patient"]) if "patient" in filters else None
        conversations = selectors.conversation_list(
            user=user,
            location_id=filters.get("location"),
            unread=filters.get("unread", False),
            opted_out=filters.get("opted_out"),
            patient=patient,
        )

        def on_page(page: list[Contact]) -> None:
            selectors.note_conversation_reads(user=user, contacts=page)

        return paginate(self, request, conversations, lambda c: dict(ConversationOutput(c).data), on_page=on_page)


class ConversationDetailView(APIView):
    required_capability = "messaging.view"

    @extend_schema(
        operation_id="conversations_retrieve",
        summary="One WhatsApp conversation",
        description="Requires `messaging.view`.",
        responses={200: ConversationOutput, **error_responses(401, 403, 404)},
        tags=["messaging"],
    )
    def get(self, request: Request, id: Any) -> Response:
        contact = selectors.conversation_access(user=staff_user(request), conversation_id=id)
        return Response(ConversationOutput(contact).data)


class ConversationMessagesView(APIView):
    required_capability = {"GET": "messaging.view", "POST": "messaging.send"}
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="conversations_messages_list",
        summary="Messages of a conversation, both ways",
        description="Requires `messaging.view`. Newest first. Outbound messages carry their delivery status "
        "(queued, sending, sent, delivered, read, failed) and, when failed, why.",
        responses={200: MessageOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["messaging"],
    )
    def get(self, request: Request, id: Any) -> Response:
        contact = selectors.conversation_access(user=staff_user(request), conversation_id=id)
        lines = list(reversed(selectors.conversation_messages(contact, limit=None)))
        return paginate(self, request, lines, _message_data)

    @extend_schema(
        operation_id="conversations_messages_create",
        summary="Send a reply or an approved template",
        description="Requires `messaging.send`. `body`: a free-form text, allowed only within 24 hours of the "
        "person's last message (else 400 naming `body`: send a `template`). `template`: one of the approved "
        "templates, to the linked patient (needs a linked patient). Refused (400) for a person who opted out. "
        "The message is queued; follow its `status` in the conversation's messages.",
        request=SendInput,
        responses={201: MessageOutput, **error_responses(400, 401, 403, 404)},
        tags=["messaging"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        contact = selectors.conversation_access(user=user, conversation_id=id)
        payload = SendInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        key = f"api:{user.pk}:{data.get('idempotency_key') or uuid.uuid4()}"
        if "body" in data:
            message = inbox.conversation_reply(
                actor=user, contact=contact, body=data["body"], idempotency_key=key, context=audit_context(request)
            )
        else:
            template = inbox.inbox_template(data["template"])
            if template is None:  # the serializer's choices are the templates
                raise DjangoValidationError({"template": "Not an approved template."})
            message = inbox.conversation_send_template(
                actor=user, contact=contact, template=template, idempotency_key=key, context=audit_context(request)
            )
        return Response(_message_data(selectors.conversation_line(message)), status=201)


class ConversationReadView(APIView):
    required_capability = "messaging.view"

    @extend_schema(
        operation_id="conversations_mark_read",
        summary="Mark a conversation as read",
        description="Requires `messaging.view`. Marks every message so far as read, for the whole clinic.",
        request=None,
        responses={200: OpenApiResponse(ConversationOutput), **error_responses(401, 403, 404)},
        tags=["messaging"],
    )
    def post(self, request: Request, id: Any) -> Response:
        user = staff_user(request)
        contact = selectors.conversation_access(user=user, conversation_id=id)
        inbox.conversation_mark_read(actor=user, contact=contact, context=audit_context(request))
        return Response(ConversationOutput(selectors.conversation_access(user=user, conversation_id=id)).data)
