"""The WhatsApp Cloud API client: the only module that talks to Meta's Graph API, and the parser of
its webhook payloads into typed items.

Why a thin client and not pywa: pywa (4.5) is well made (typed updates, signature checks), but its
`GraphAPI` overwrites the HTTP session's base URL with `https://graph.facebook.com/v{version}`, so
it cannot be pointed at a configurable base URL (our fake Graph API in tests and the demo) without
patching it, and its update handling is built around its own web server (Flask/FastAPI/Starlette).
We need three calls (send a template, send a text, later media) and one webhook shape; a small
client on urllib3 (already installed with boto3) keeps the contract visible and testable.

Sending: `POST {WHATSAPP_GRAPH_BASE_URL}/{WHATSAPP_GRAPH_VERSION}/{phone_number_id}/messages` with
the clinic's access token as a Bearer token. A recipient is addressed by phone (`to`, E.164) when
we have one, else by business-scoped user id (`recipient`), as Meta asks for users who hide their
number. `biz_opaque_callback_data` carries our message id, so status webhooks can be matched even
when a send's answer was lost.

Errors become `docos.webhooks.VendorError`: retryable (HTTP 429 and 5xx, network errors, Meta's
throughput and pair-rate codes 130429/131056, temporary codes) or permanent (the 24-hour window
131047, undeliverable 131026, stopped marketing 131050, template errors 132000-132018, invalid
parameters, a bad token). An error body is Meta's documented
`{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"}, "fbtrace_id"}}`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import urllib3
from django.conf import settings

from docos.webhooks import Delivery, VendorError

logger = logging.getLogger(__name__)

VENDOR = "whatsapp"

RETRYABLE_CODES = frozenset(
    {
        1,  # API unknown (temporary)
        2,  # API service (temporary)
        4,  # application request limit reached
        80007,  # WhatsApp Business Account rate limit
        130429,  # throughput (cloud API rate limit) reached
        131000,  # something went wrong
        131016,  # service unavailable
        131056,  # pair rate limit: too many messages to the same user
        133004,  # server temporarily unavailable
    }
)
PERMANENT_CODES = frozenset(
    {
        0,  # authentication exception
        3,  # capability or permissions
        10,  # permission denied
        100,  # invalid parameter
        190,  # access token expired or invalid
        200,  # permissions
        131008,  # required parameter missing
        131009,  # parameter value not valid
        131021,  # recipient cannot be sender
        131026,  # message undeliverable
        131031,  # account locked
        131042,  # payment problem
        131045,  # phone number not registered
        131047,  # re-engagement: more than 24 hours since the user last wrote
        131050,  # the user stopped marketing messages
        131051,  # unsupported message type
        131052,  # media download error
        131053,  # media upload error
        *range(132000, 132019),  # template errors (not found, parameters, paused, disabled, ...)
        133010,  # phone number not registered on the Cloud API
    }
)
ERROR_TITLES = {
    130429: "Rate limit hit",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131050: "User stopped marketing messages",
    131056: "Pair rate limit hit",
    132000: "Template parameter count mismatch",
    132001: "Template does not exist",
}


@dataclass(frozen=True)
class Credentials:
    phone_number_id: str
    access_token: str


@dataclass(frozen=True)
class SendResult:
    message_id: str
    wa_id: str = ""
    user_id: str = ""
    message_status: str = ""  # "accepted" or "held_for_quality_assessment"


# --- sending ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _pool() -> urllib3.PoolManager:
    return urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)


def messages_url(phone_number_id: str) -> str:
    base = str(settings.WHATSAPP_GRAPH_BASE_URL).rstrip("/")
    return f"{base}/{settings.WHATSAPP_GRAPH_VERSION}/{phone_number_id}/messages"


def _recipient(to: str, user_id: str) -> dict[str, str]:
    if to:
        return {"to": to}
    if user_id:
        return {"recipient": user_id}
    raise VendorError(permanent=True, code="no_recipient", message="No phone number or user id to send to.")


def template_payload(
    *,
    to: str,
    user_id: str,
    name: str,
    language: str,
    body_parameters: list[Any],
    callback_data: str = "",
    button_payloads: list[str] | None = None,
) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    components: list[dict[str, Any]] = []
    if body_parameters:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": str(value)} for value in body_parameters]}
        )
    for index, button in enumerate(button_payloads or []):  # quick replies come back with their payload
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": button}],
            }
        )
    if components:
        template["components"] = components
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(to, user_id),
        "type": "template",
        "template": template,
    }
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def text_payload(*, to: str, user_id: str, body: str, callback_data: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(to, user_id),
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


LIST_ROWS_MAX = 10  # WhatsApp's limits for an interactive list
LIST_TITLE_MAX = 24
LIST_BUTTON_MAX = 20


def list_payload(
    *, to: str, user_id: str, body: str, button: str, rows: list[dict[str, str]], callback_data: str = ""
) -> dict[str, Any]:
    """An interactive list message: one section of up to 10 rows (`id`, `title`, `description`)."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(to, user_id),
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": button[:LIST_BUTTON_MAX], "sections": [{"title": button[:24], "rows": rows}]},
        },
    }
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def document_payload(
    *, to: str, user_id: str, media_id: str, filename: str, caption: str = "", callback_data: str = ""
) -> dict[str, Any]:
    """A document message (e.g. a prescription PDF) naming a file uploaded with `media_upload`."""
    document: dict[str, str] = {"id": media_id, "filename": filename[:240]}
    if caption:
        document["caption"] = caption[:1024]
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(to, user_id),
        "type": "document",
        "document": document,
    }
    if callback_data:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


def send(credentials: Credentials, payload: dict[str, Any]) -> SendResult:
    """POST one message; the SendResult on success, VendorError otherwise (never another exception
    for HTTP or network trouble)."""
    if not credentials.phone_number_id or not credentials.access_token:
        raise VendorError(permanent=True, code="not_configured", message="WhatsApp is not configured.")
    try:
        response = _pool().request(
            "POST",
            messages_url(credentials.phone_number_id),
            body=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {credentials.access_token}", "Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=5.0, read=float(settings.WHATSAPP_TIMEOUT_SECONDS)),
        )
    except urllib3.exceptions.HTTPError as exc:
        # Connection refused/reset or a timeout. A read timeout may hide a send that happened; the
        # outbox treats every network error as retryable and relies on the callback data to match a
        # late status webhook (see messaging.services, "at most once").
        raise VendorError(permanent=False, code="network", message=type(exc).__name__) from exc
    body = _json(response.data)
    if 200 <= response.status < 300:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise VendorError(permanent=False, code="bad_response", message="No message id in the answer.")
        contact = (body.get("contacts") or [{}])[0] or {}
        return SendResult(
            message_id=str(messages[0]["id"]),
            wa_id=str(contact.get("wa_id", "")),
            user_id=str(contact.get("user_id", "")),
            message_status=str(messages[0].get("message_status", "")),
        )
    raise error_from_response(response.status, body, response.headers.get("Retry-After"))


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return None


def error_from_response(status: int, body: Any, retry_after: str | None = None) -> VendorError:
    """Map an HTTP error answer of the Graph API to a VendorError."""
    error = body.get("error") if isinstance(body, dict) else None
    code: int | None = None
    message = f"HTTP {status}"
    if isinstance(error, dict):
        try:
            code = int(error.get("code"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            code = None
        message = str(error.get("message") or message)[:200]
    delay: float | None = None
    try:
        delay = float(retry_after) if retry_after else None
    except ValueError:
        delay = None
    if code is not None:
        if code in RETRYABLE_CODES:
            return VendorError(permanent=False, code=str(code), message=message, retry_after=delay)
        if code in PERMANENT_CODES:
            return VendorError(permanent=True, code=str(code), message=message)
    permanent = not (status == 429 or status >= 500)
    return VendorError(permanent=permanent, code=str(code if code is not None else status), message=message)


def error_title(code: str, fallback: str = "") -> str:
    try:
        return ERROR_TITLES.get(int(code), fallback)
    except ValueError:
        return fallback


# --- media ------------------------------------------------------------------------------------------


MEDIA_KINDS = frozenset({"image", "document", "audio", "video", "sticker"})


@dataclass(frozen=True)
class MediaFile:
    data: bytes
    mime_type: str
    sha256: str  # hex, of `data`


def media_url(media_id: str) -> str:
    base = str(settings.WHATSAPP_GRAPH_BASE_URL).rstrip("/")
    return f"{base}/{settings.WHATSAPP_GRAPH_VERSION}/{media_id}"


def media_upload(credentials: Credentials, *, data: bytes, mime_type: str, filename: str) -> str:
    """Upload a file for an outbound media message, as Meta documents it: `POST
    /{phone-number-id}/media` (multipart: `messaging_product`, `type`, `file`) answers `{"id"}`.
    The file goes to Meta, never to a public link (a prescription is not for anyone with the URL)."""
    if not credentials.phone_number_id or not credentials.access_token:
        raise VendorError(permanent=True, code="not_configured", message="WhatsApp is not configured.")
    base = str(settings.WHATSAPP_GRAPH_BASE_URL).rstrip("/")
    try:
        response = _pool().request(
            "POST",
            f"{base}/{settings.WHATSAPP_GRAPH_VERSION}/{credentials.phone_number_id}/media",
            fields={"messaging_product": "whatsapp", "type": mime_type, "file": (filename, data, mime_type)},
            headers={"Authorization": f"Bearer {credentials.access_token}"},
            timeout=urllib3.Timeout(connect=5.0, read=float(settings.WHATSAPP_TIMEOUT_SECONDS)),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise VendorError(permanent=False, code="network", message=type(exc).__name__) from exc
    body = _json(response.data)
    if 200 <= response.status < 300:
        media_id = body.get("id") if isinstance(body, dict) else None
        if not media_id:
            raise VendorError(permanent=False, code="bad_response", message="No media id in the answer.")
        return str(media_id)
    raise error_from_response(response.status, body, response.headers.get("Retry-After"))


def _get(url: str, token: str, *, fields: dict[str, str] | None = None, preload: bool = True) -> Any:
    try:
        return _pool().request(
            "GET",
            url,
            fields=fields,
            headers={"Authorization": f"Bearer {token}"},
            timeout=urllib3.Timeout(connect=5.0, read=float(settings.WHATSAPP_TIMEOUT_SECONDS)),
            preload_content=preload,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise VendorError(permanent=False, code="network", message=type(exc).__name__) from exc


def media_download(credentials: Credentials, media_id: str) -> MediaFile:
    """Download an inbound message's media as Meta documents it: `GET /{media-id}` (with
    `phone_number_id`, so Meta checks the media belongs to our number) answers
    `{"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}`; the `url` (valid for
    five minutes) is then fetched with the same Bearer token. The bytes are checked against the
    `sha256` Meta gave and the size limit (WHATSAPP_MEDIA_MAX_BYTES). VendorError otherwise."""
    import hashlib
    import hmac

    if not credentials.phone_number_id or not credentials.access_token:
        raise VendorError(permanent=True, code="not_configured", message="WhatsApp is not configured.")
    if not media_id or not media_id.isascii() or not media_id.isalnum():
        raise VendorError(permanent=True, code="bad_media_id", message="Not a media id.")
    limit = int(settings.WHATSAPP_MEDIA_MAX_BYTES)
    response = _get(
        media_url(media_id), credentials.access_token, fields={"phone_number_id": credentials.phone_number_id}
    )
    info = _json(response.data)
    if not 200 <= response.status < 300:
        raise error_from_response(response.status, info, response.headers.get("Retry-After"))
    if not isinstance(info, dict) or not info.get("url"):
        raise VendorError(permanent=False, code="bad_response", message="No media URL in the answer.")
    try:
        announced = int(info.get("file_size") or 0)
    except (TypeError, ValueError):
        announced = 0
    if announced > limit:
        raise VendorError(permanent=True, code="media_too_large", message=f"The file is larger than {limit} bytes.")
    download = _get(str(info["url"]), credentials.access_token, preload=False)
    try:
        if not 200 <= download.status < 300:
            raise error_from_response(
                download.status, _json(download.read(64 * 1024)), download.headers.get("Retry-After")
            )
        chunks, size = [], 0
        for chunk in download.stream(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise VendorError(
                    permanent=True, code="media_too_large", message=f"The file is larger than {limit} bytes."
                )
            chunks.append(chunk)
    except urllib3.exceptions.HTTPError as exc:
        raise VendorError(permanent=False, code="network", message=type(exc).__name__) from exc
    finally:
        download.release_conn()
    data = b"".join(chunks)
    digest = hashlib.sha256(data).hexdigest()
    expected = str(info.get("sha256") or "").lower()
    if expected and not hmac.compare_digest(digest, expected):
        raise VendorError(permanent=False, code="media_checksum", message="The download does not match its SHA-256.")
    mime_type = str(info.get("mime_type") or download.headers.get("Content-Type") or "application/octet-stream")
    return MediaFile(data=data, mime_type=mime_type.split(";")[0].strip()[:100], sha256=digest)


# --- webhook payloads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    status: str  # sent, delivered, read, failed (others, e.g. "deleted", are ignored)
    occurred_at: dt.datetime
    recipient_id: str = ""
    recipient_user_id: str = ""
    callback_data: str = ""
    pricing_category: str = ""
    error_code: str = ""
    error_title: str = ""


@dataclass(frozen=True)
class InboundUpdate:
    message_id: str
    kind: str
    occurred_at: dt.datetime
    from_phone: str = ""  # digits, as WhatsApp gives them; may be empty for username users
    from_user_id: str = ""  # business-scoped user id
    profile_name: str = ""
    username: str = ""
    text: str = ""  # text body, button text or reply title
    reply_id: str = ""  # button payload or interactive reply id
    context_message_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # the type-specific object (media ids, location, ...)


def _moment(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return dt.datetime.now(tz=dt.UTC)


def _status(raw: dict[str, Any]) -> StatusUpdate:
    errors = raw.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    pricing = raw.get("pricing") if isinstance(raw.get("pricing"), dict) else {}
    return StatusUpdate(
        message_id=str(raw.get("id", "")),
        status=str(raw.get("status", "")),
        occurred_at=_moment(raw.get("timestamp")),
        recipient_id=str(raw.get("recipient_id", "")),
        recipient_user_id=str(raw.get("recipient_user_id", "")),
        callback_data=str(raw.get("biz_opaque_callback_data", "")),
        pricing_category=str((pricing or {}).get("category", ""))[:32],
        error_code=str(first.get("code", ""))[:16],
        error_title=str(first.get("title") or first.get("message") or "")[:200],
    )


def _inbound(raw: dict[str, Any], contacts: list[dict[str, Any]]) -> InboundUpdate:
    kind = str(raw.get("type", "unsupported"))
    from_phone = str(raw.get("from", "") or "")
    from_user_id = str(raw.get("from_user_id", "") or "")
    contact = next(
        (
            c
            for c in contacts
            if (from_user_id and c.get("user_id") == from_user_id) or (from_phone and c.get("wa_id") == from_phone)
        ),
        contacts[0] if len(contacts) == 1 else {},
    )
    from_user_id = from_user_id or str(contact.get("user_id", "") or "")
    from_phone = from_phone or str(contact.get("wa_id", "") or "")
    text, reply_id = "", ""
    found = raw.get(kind)
    details: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":
        text = str(details.get("body", ""))
        details = {}
    elif kind == "button":  # a template's quick-reply button
        text, reply_id = str(details.get("text", "")), str(details.get("payload", ""))
        details = {}
    elif kind == "interactive":
        reply = details.get(str(details.get("type", ""))) or {}
        text, reply_id = str(reply.get("title", "")), str(reply.get("id", ""))
        details = {"type": details.get("type", "")}
    elif kind in MEDIA_KINDS:  # {"id", "mime_type", "sha256", "caption"?, "filename"?, "url"?}
        text = str(details.get("caption", "") or "")
        details = {k: details[k] for k in ("id", "mime_type", "sha256", "filename", "voice") if k in details}
    context: dict[str, Any] = raw["context"] if isinstance(raw.get("context"), dict) else {}
    profile: dict[str, Any] = contact["profile"] if isinstance(contact.get("profile"), dict) else {}
    return InboundUpdate(
        message_id=str(raw.get("id", "")),
        kind=kind[:24],
        occurred_at=_moment(raw.get("timestamp")),
        from_phone="".join(ch for ch in from_phone if ch.isdigit())[:20],
        from_user_id=from_user_id[:160],
        profile_name=str((profile or {}).get("name", "")),
        username=str(contact.get("username", "") or ""),
        text=text,
        reply_id=reply_id[:256],
        context_message_id=str((context or {}).get("id", ""))[:128],
        details=details or {},
    )


TEMPLATE_STATUS_FIELD = "message_template_status_update"


def waba_route(waba_id: str) -> str:
    """The routing-table account id of a WhatsApp Business Account (kept apart from phone number ids)."""
    return f"waba:{waba_id}"


@dataclass(frozen=True)
class TemplateStatusUpdate:
    """A `message_template_status_update` webhook: Meta reviewed, paused, disabled or reinstated a
    template (`event`: APPROVED, REJECTED, PENDING, PAUSED, DISABLED, REINSTATED, FLAGGED,
    PENDING_DELETION, IN_APPEAL, ...), with its `reason` (e.g. INCORRECT_CATEGORY; "NONE")."""

    template_id: str
    name: str
    language: str
    event: str
    reason: str = ""


def _template_status(value: dict[str, Any]) -> TemplateStatusUpdate | None:
    event = str(value.get("event") or "").upper()
    name = str(value.get("message_template_name") or "")
    if not event or not (name or value.get("message_template_id")):
        return None
    reason = str(value.get("reason") or "")
    other = value.get("other_info") or value.get("disable_info") or {}
    if isinstance(other, dict) and other.get("title"):
        reason = str(other.get("title"))
    return TemplateStatusUpdate(
        template_id=str(value.get("message_template_id") or ""),
        name=name[:512],
        language=str(value.get("message_template_language") or "")[:16],
        event=event[:32],
        reason="" if reason.upper() == "NONE" else reason[:200],
    )


def parse_webhook(body: bytes) -> list[Delivery]:
    """A webhook body -> typed deliveries: ("status", StatusUpdate) and ("message", InboundUpdate),
    each for the business phone number id it arrived on. Other fields (template status updates,
    account updates, ...) come back under their field name, for the dispatcher to log and skip."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account event")
    deliveries: list[Delivery] = []
    for entry in data.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            field_name = str((change or {}).get("field", ""))
            account = str(((value.get("metadata") or {}).get("phone_number_id")) or (entry or {}).get("id") or "")
            if field_name == TEMPLATE_STATUS_FIELD:
                # Template events name the business account (entry id), not a phone number.
                waba = str((entry or {}).get("id") or "")
                update = _template_status(value)
                if update is not None:
                    deliveries.append(Delivery(account_id=waba_route(waba), kind="template_status", payload=update))
                continue
            if field_name != "messages":
                deliveries.append(Delivery(account_id=account, kind=field_name or "unknown", payload=None))
                continue
            for raw_status in value.get("statuses") or []:
                if isinstance(raw_status, dict) and raw_status.get("id"):
                    deliveries.append(Delivery(account_id=account, kind="status", payload=_status(raw_status)))
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for raw_message in value.get("messages") or []:
                if isinstance(raw_message, dict) and raw_message.get("id"):
                    deliveries.append(
                        Delivery(account_id=account, kind="message", payload=_inbound(raw_message, contacts))
                    )
    return deliveries


# --- message templates (WhatsApp Business Management API) --------------------------------------------


@dataclass(frozen=True)
class RemoteTemplate:
    """A template as Meta holds it: its id, name, language, category and review status."""

    id: str
    name: str
    language: str
    category: str
    status: str  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ...
    rejected_reason: str = ""


def templates_url(waba_id: str) -> str:
    base = str(settings.WHATSAPP_GRAPH_BASE_URL).rstrip("/")
    return f"{base}/{settings.WHATSAPP_GRAPH_VERSION}/{waba_id}/message_templates"


def template_definition(
    *, name: str, language: str, category: str, body: str, examples: list[str], buttons: list[str], footer: str = ""
) -> dict[str, Any]:
    """The creation request for one template: a BODY with `{{n}}` variables and their examples,
    an optional FOOTER, and QUICK_REPLY buttons."""
    body_component: dict[str, Any] = {"type": "BODY", "text": body}
    if examples:
        body_component["example"] = {"body_text": [list(examples)]}
    components: list[dict[str, Any]] = [body_component]
    if footer:
        components.append({"type": "FOOTER", "text": footer})
    if buttons:
        components.append({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": text} for text in buttons]})
    return {"name": name, "language": language, "category": category, "components": components}


def _require_account(credentials: Credentials, waba_id: str) -> None:
    if not waba_id or not credentials.access_token:
        raise VendorError(
            permanent=True, code="not_configured", message="The WhatsApp Business Account id or token is missing."
        )


def template_create(credentials: Credentials, waba_id: str, definition: dict[str, Any]) -> RemoteTemplate:
    """Submit a template for Meta's review; it comes back PENDING (or an error)."""
    _require_account(credentials, waba_id)
    try:
        response = _pool().request(
            "POST",
            templates_url(waba_id),
            body=json.dumps(definition).encode(),
            headers={"Authorization": f"Bearer {credentials.access_token}", "Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=5.0, read=float(settings.WHATSAPP_TIMEOUT_SECONDS)),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise VendorError(permanent=False, code="network", message=type(exc).__name__) from exc
    answer = _json(response.data)
    if not 200 <= response.status < 300 or not isinstance(answer, dict) or not answer.get("id"):
        raise _template_error(response.status, answer)
    return RemoteTemplate(
        id=str(answer["id"]),
        name=str(definition["name"]),
        language=str(definition["language"]),
        category=str(answer.get("category") or definition["category"]),
        status=str(answer.get("status") or "PENDING"),
    )


def _template_error(status: int, answer: Any) -> VendorError:
    error = error_from_response(status, answer)
    details = answer.get("error", {}) if isinstance(answer, dict) else {}
    if isinstance(details, dict):
        text = details.get("error_user_title") or (details.get("error_data") or {}).get("details")
        if text:
            return VendorError(permanent=error.permanent, code=error.code, message=str(text)[:200])
    return error


TEMPLATE_PAGES_MAX = 50  # 100 per page: 5,000 templates, far above Meta's per-account limit


def templates_list(credentials: Credentials, waba_id: str) -> list[RemoteTemplate]:
    """Every template of the account, following Meta's cursor paging."""
    _require_account(credentials, waba_id)
    url: str | None = templates_url(waba_id)
    fields: dict[str, str] | None = {"fields": "id,name,language,category,status,rejected_reason", "limit": "100"}
    found: list[RemoteTemplate] = []
    for _ in range(TEMPLATE_PAGES_MAX):
        if url is None:
            break
        response = _get(url, credentials.access_token, fields=fields)
        answer = _json(response.data)
        if not 200 <= response.status < 300 or not isinstance(answer, dict):
            raise _template_error(response.status, answer)
        for row in answer.get("data") or []:
            if isinstance(row, dict) and row.get("name") and row.get("language"):
                found.append(
                    RemoteTemplate(
                        id=str(row.get("id", "")),
                        name=str(row["name"]),
                        language=str(row["language"]),
                        category=str(row.get("category", "")),
                        status=str(row.get("status", "")),
                        rejected_reason=str(row.get("rejected_reason") or "")[:200],
                    )
                )
        paging: dict[str, Any] = answer["paging"] if isinstance(answer.get("paging"), dict) else {}
        following = paging.get("next") if isinstance(paging.get("next"), str) else None
        # The token goes only to the Graph API itself, whatever a "next" link says.
        url = following if following and following.startswith(templates_url(waba_id)) else None
        fields = None  # the next URL carries its own query
    return found
