"""Patients answering with a button: a template's quick reply (its payload) or an interactive reply
(its id), dispatched to the app that sent the button.

A payload is "<prefix>:<action>:<id>", e.g. "appt:confirm:<uuid>", chosen by the sending feature
(ids only, never patient data). Apps above messaging register a handler for their prefix in
AppConfig.ready (appointments registers "appt"), so this module imports none of them. A handler
gets the contact who pressed the button and the payload, does its work through its own services,
and returns the sentence to answer with (or None for no answer). It must check that the object
belongs to that contact's patient: a payload is only as trustworthy as the phone that sent it.

The answer is a free-form reply inside the 24-hour window the button press has just opened, sent
once per inbound message id however often Meta redelivers the webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction

from messaging.models import Contact, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

ReplyHandler = Callable[[Contact, str], str | None]
_handlers: dict[str, ReplyHandler] = {}


def register_reply_handler(prefix: str, handler: ReplyHandler) -> None:
    _handlers[prefix] = handler


def handle_reply(contact: Contact, message: InboundMessage, reply_id: str) -> OutboundMessage | None:
    """Run the handler of the reply's prefix and answer with what it says (or its refusal)."""
    from messaging.services import message_send_text

    handler = _handlers.get(reply_id.split(":", 1)[0]) if reply_id else None
    if handler is None:
        return None
    try:
        with transaction.atomic():  # a refused action leaves nothing half done
            answer = handler(contact, reply_id)
    except ValidationError as exc:
        answer = " ".join(exc.messages)
    if not answer:
        return None
    try:
        return message_send_text(
            contact=contact,
            body=answer,
            idempotency_key=f"reply:{message.vendor_message_id}"[:160],
            purpose=OutboundMessage.Purpose.REPLY,
        )
    except ValidationError:  # a redelivery more than 24 hours late: the window is closed
        logger.info("whatsapp button reply outside the 24-hour window not answered")
        return None
