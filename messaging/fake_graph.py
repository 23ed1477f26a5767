"""A fake WhatsApp Cloud API (Graph API) for tests and the demo: stdlib only, runnable on its own.

    python -m messaging.fake_graph --port 8765 [--token T]    # then WHATSAPP_GRAPH_BASE_URL=http://127.0.0.1:8765

It implements `POST /{version}/{phone_number_id}/messages` as Meta documents it: a Bearer token,
a JSON body with `messaging_product: "whatsapp"`, a recipient (`to` phone number or `recipient`
business-scoped user id) and a `type` with its object (text.body up to 4096 characters; template
name and language.code); the answer
`{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid...", "message_status": "accepted"}]}`
or an error body `{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`.

Media, as Meta documents them: `GET /{version}/{media-id}` (Bearer token; optional
`phone_number_id`, checked against the number the media arrived on) answers
`{"messaging_product": "whatsapp", "url", "mime_type", "sha256", "file_size", "id"}`; the `url`
answers the bytes to a GET with the same Bearer token (401 without) and expires after five minutes
like Meta's. An unknown media id is Meta's 400 code 100 (subcode 33). Tests (and the demo) put a
file there with `server.add_media(data, mime_type, phone_number_id=...)`, which returns its id
(POST /_fake/media with JSON `{"data_base64", "mime_type"}` does the same over HTTP). Uploads, as
Meta documents them: `POST /{version}/{phone_number_id}/media`, multipart/form-data with
`messaging_product=whatsapp`, `type` (MIME type: PDF, JPEG, PNG, plain text here) and `file`,
answers `{"id"}`; a document message then names that id (`document.id`, with `filename` and
`caption`), or a `link`, never both.

Message templates, as the WhatsApp Business Management API documents them:
`POST /{version}/{waba_id}/message_templates` with `name` (lowercase letters, digits and
underscores, at most 512), `language`, `category` (UTILITY, MARKETING or AUTHENTICATION) and
`components` (one BODY with `text`; `{{n}}` variables numbered from 1 need `example.body_text`;
optional FOOTER, and BUTTONS of up to 10 QUICK_REPLY buttons of at most 25 characters) answers
`{"id", "status": "PENDING", "category"}`; the same name and language twice is Meta's code 100,
subcode 2388024. `GET /{version}/{waba_id}/message_templates` lists them (`data` and cursor
`paging`, `limit` per page, `after` to go on). Review is up to the test: `server.review(name,
language, status, reason)` (POST /_fake/templates/review) approves or rejects one.

It records every request it received (`server.requests`, or GET /_fake/requests) and can be told
to fail: `server.script(status=..., code=...)` queues failures for the next requests (POST
/_fake/fail with the same JSON does this over HTTP), `server.fail_recipient(to, code)` fails every
message to one recipient; `server.reset()` (POST /_fake/reset) clears both and the record.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH_RE = re.compile(r"^/(v\d+\.\d+)/(\d{1,32})/messages/?$")
MEDIA_RE = re.compile(r"^/(v\d+\.\d+)/(\d{1,32})/?$")
TEMPLATES_RE = re.compile(r"^/(v\d+\.\d+)/(\d{1,32})/message_templates/?$")
UPLOAD_RE = re.compile(r"^/(v\d+\.\d+)/(\d{1,32})/media/?$")
UPLOAD_TYPES = {"application/pdf", "image/jpeg", "image/png", "text/plain"}
UPLOAD_MAX_BYTES = 100 * 1024 * 1024  # documents: 100 MB
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
TEMPLATE_CATEGORIES = {"UTILITY", "MARKETING", "AUTHENTICATION"}
DOWNLOAD_RE = re.compile(r"^/_fake/media/(\d{1,32})/?$")
MEDIA_URL_SECONDS = 300  # Meta's media URLs are valid for five minutes
TYPES = {"text", "template", "image", "document", "audio", "video", "sticker", "location", "contacts", "interactive"}
ERROR_MESSAGES = {
    100: ("OAuthException", "(#100) Invalid parameter"),
    190: ("OAuthException", "Error validating access token: Session has expired"),
    130429: ("OAuthException", "(#130429) Rate limit hit"),
    131000: ("OAuthException", "(#131000) Something went wrong"),
    131026: ("OAuthException", "(#131026) Message undeliverable"),
    131047: ("OAuthException", "(#131047) Re-engagement message"),
    131050: ("OAuthException", "(#131050) User stopped marketing messages"),
    131053: ("OAuthException", "(#131053) Media upload error"),
    131056: ("OAuthException", "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
    132001: ("OAuthException", "(#132001) Template name does not exist in the translation"),
}


@dataclass
class Failure:
    status: int
    code: int | None = None
    retry_after: int | None = None
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: Any
    answer_status: int = 0
    message_id: str = ""
    at: float = field(default_factory=time.time)  # when it arrived (benchmarks measure rates by it)


@dataclass
class Media:
    data: bytes
    mime_type: str
    phone_number_id: str = ""  # when set, a metadata request naming another number is refused
    url_issued_at: float = 0.0


@dataclass
class FakeGraphState:
    token: str | None = None  # when set, only this Bearer token is accepted
    requests: list[Recorded] = field(default_factory=list)
    scripted: list[Failure] = field(default_factory=list)
    by_recipient: dict[str, int] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    templates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # WABA id -> templates
    lock: threading.Lock = field(default_factory=threading.Lock)


def error_body(code: int, message: str | None = None, *, details: str = "") -> dict[str, Any]:
    kind, text = ERROR_MESSAGES.get(code, ("OAuthException", f"(#{code}) Error"))
    return {
        "error": {
            "message": message or text,
            "type": kind,
            "code": code,
            "error_subcode": 2494010 if code == 131047 else None,
            "error_data": {"messaging_product": "whatsapp", "details": details or text},
            "fbtrace_id": uuid.uuid4().hex[:22],
        }
    }


def _validate(body: Any) -> str | None:
    """The first problem with a send request, as Meta's (#100) details would name it."""
    if not isinstance(body, dict):
        return "The request body is not a JSON object."
    if body.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required and must be whatsapp."
    if not (body.get("to") or body.get("recipient")):
        return "The parameter to (or recipient) is required."
    kind = body.get("type", "text")
    if kind not in TYPES:
        return f"Unsupported message type {kind!r}."
    obj = body.get(kind)
    if not isinstance(obj, dict):
        return f"The parameter {kind} is required."
    if kind == "text":
        text = obj.get("body")
        if not isinstance(text, str) or not text.strip():
            return "The parameter text['body'] is required."
        if len(text) > 4096:
            return "Param text['body'] must be at most 4096 characters long."
    if kind == "interactive" and obj.get("type") == "list":
        action: dict[str, Any] = obj["action"] if isinstance(obj.get("action"), dict) else {}
        button = action.get("button")
        if not isinstance(button, str) or not 0 < len(button) <= 20:
            return "The parameter interactive['action']['button'] is required (at most 20 characters)."
        rows = [row for section in action.get("sections") or [] for row in (section.get("rows") or [])]
        if not 0 < len(rows) <= 10:
            return "An interactive list needs 1 to 10 rows."
        for row in rows:
            if not isinstance(row.get("id"), str) or not 0 < len(row["id"]) <= 200:
                return "Each row needs an id of at most 200 characters."
            if not isinstance(row.get("title"), str) or not 0 < len(row["title"]) <= 24:
                return "Each row needs a title of at most 24 characters."
            if len(str(row.get("description", ""))) > 72:
                return "A row's description is at most 72 characters."
        if len({row["id"] for row in rows}) != len(rows):
            return "Row ids must be unique."
    if kind in ("document", "image", "audio", "video", "sticker"):
        if bool(obj.get("id")) == bool(obj.get("link")):
            return f"The parameter {kind} needs exactly one of id or link."
        if kind == "document" and len(str(obj.get("filename", ""))) > 240:
            return "The parameter document['filename'] is at most 240 characters."
        if len(str(obj.get("caption", ""))) > 1024:
            return f"The parameter {kind}['caption'] is at most 1024 characters."
    if kind == "template":
        if not isinstance(obj.get("name"), str) or not obj["name"]:
            return "The parameter template['name'] is required."
        language = obj.get("language")
        if not isinstance(language, dict) or not language.get("code"):
            return "The parameter template['language']['code'] is required."
    return None


def _validate_template(body: Any) -> str | None:
    """The first problem with a template creation request, as Meta's (#100) details would name it."""
    if not isinstance(body, dict):
        return "The request body is not a JSON object."
    name = body.get("name")
    if not isinstance(name, str) or not TEMPLATE_NAME_RE.match(name):
        return "Template name can only contain lowercase alphanumeric characters and underscores."
    if not isinstance(body.get("language"), str) or not body["language"]:
        return "The parameter language is required."
    if body.get("category") not in TEMPLATE_CATEGORIES:
        return "The parameter category must be one of UTILITY, MARKETING, AUTHENTICATION."
    components = body.get("components")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        return "The parameter components is required."
    bodies = [c for c in components if c.get("type") == "BODY"]
    if len(bodies) != 1 or not isinstance(bodies[0].get("text"), str) or not bodies[0]["text"].strip():
        return "A template needs exactly one BODY component with text."
    text = bodies[0]["text"]
    if len(text) > 1024:
        return "The BODY text must be at most 1024 characters."
    if re.match(r"\{\{[0-9]+\}\}", text.strip()) or re.search(r"\{\{[0-9]+\}\}$", text.strip()):
        return "Variables can't be at the start or end of the template."
    numbers = sorted({int(n) for n in re.findall(r"\{\{([0-9]+)\}\}", text)})
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        return "Variables must be numbered {{1}}, {{2}}, ... without gaps."
    examples = ((bodies[0].get("example") or {}).get("body_text") or [[]])[0]
    if numbers and (not isinstance(examples, list) or len(examples) != len(numbers)):
        return "Each variable of the BODY needs an example value (example.body_text)."
    for component in components:
        if component.get("type") == "BUTTONS":
            buttons = component.get("buttons")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
                return "BUTTONS needs between 1 and 10 buttons."
            for button in buttons:
                text = button.get("text") if isinstance(button, dict) else None
                if button.get("type") != "QUICK_REPLY" or not isinstance(text, str) or not 0 < len(text) <= 25:
                    return "Each quick reply button needs a text of at most 25 characters."
    return None


class _Handler(BaseHTTPRequestHandler):
    server: FakeGraphServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _raw(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _body(self, raw: bytes | None = None) -> Any:
        raw = self._raw() if raw is None else raw
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return raw.decode(errors="replace")

    def _bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, auth: str) -> bool:
        token = self.server.state.token
        return auth.startswith("Bearer ") and bool(auth[7:].strip()) and (not token or auth[7:] == token)

    def do_GET(self) -> None:
        state = self.server.state
        path, _, query = self.path.partition("?")
        if path.rstrip("/") == "/_fake/requests":
            with state.lock:
                records = [r.__dict__ for r in state.requests]
            self._answer(200, records)
            return
        auth = self.headers.get("Authorization", "")
        with state.lock:
            state.requests.append(Recorded("GET", self.path, auth, None))
            failure = (
                state.scripted.pop(0) if state.scripted and (MEDIA_RE.match(path) or DOWNLOAD_RE.match(path)) else None
            )
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            body = (
                error_body(failure.code)
                if failure.code is not None
                else {"error": {"message": "Unavailable", "code": 2}}
            )
            self._answer(failure.status, body, headers)
            return
        templates = TEMPLATES_RE.match(path)
        if templates is not None:
            self._list_templates(templates.group(2), auth, query)
            return
        download = DOWNLOAD_RE.match(path)
        if download is not None:
            if not self._authorized(auth):
                self._answer(401, error_body(190))
                return
            with state.lock:
                media = state.media.get(download.group(1))
            if media is None or time.monotonic() - media.url_issued_at > MEDIA_URL_SECONDS:
                self._answer(404, error_body(100, "The media URL expired or does not exist."))
                return
            self._bytes(200, media.data, media.mime_type)
            return
        match = MEDIA_RE.match(path)
        if match is None:
            self._answer(400, error_body(100, "Unsupported get request."))
            return
        if not self._authorized(auth):
            self._answer(401, error_body(190))
            return
        media_id = match.group(2)
        asked_for = dict(part.partition("=")[::2] for part in query.split("&") if part).get("phone_number_id", "")
        with state.lock:
            media = state.media.get(media_id)
            if media is not None:
                media.url_issued_at = time.monotonic()
        if media is None or (asked_for and media.phone_number_id and asked_for != media.phone_number_id):
            body = error_body(
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation.",
            )
            body["error"]["error_subcode"] = 33
            self._answer(400, body)
            return
        expires = int(time.time()) + MEDIA_URL_SECONDS
        self._answer(
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self.server.base_url}/_fake/media/{media_id}?ext={expires}&hash={uuid.uuid4().hex}",
                "mime_type": media.mime_type,
                "sha256": hashlib.sha256(media.data).hexdigest(),
                "file_size": str(len(media.data)),
                "id": media_id,
            },
        )

    def do_POST(self) -> None:
        state = self.server.state
        raw = self._raw()
        upload = UPLOAD_RE.match(self.path.split("?", 1)[0])
        if upload is not None:
            self._upload(upload.group(2), raw)
            return
        body = self._body(raw)
        if self.path.startswith("/_fake/"):
            self._control(self.path, body)
            return
        record = Recorded("POST", self.path, self.headers.get("Authorization", ""), body)
        templates = TEMPLATES_RE.match(self.path.split("?", 1)[0])
        if templates is not None:
            with state.lock:
                state.requests.append(record)
            self._create_template(templates.group(2), record.authorization, body)
            return
        with state.lock:
            state.requests.append(record)
            failure = state.scripted.pop(0) if state.scripted else None
        status, answer, headers = self._send(record, body, failure)
        record.answer_status = status
        if failure is not None and failure.delay:
            threading.Event().wait(failure.delay)
        self._answer(status, answer, headers)

    def _send(self, record: Recorded, body: Any, failure: Failure | None) -> tuple[int, Any, dict[str, str]]:
        state = self.server.state
        match = PATH_RE.match(self.path.split("?", 1)[0])
        if match is None:
            return 400, error_body(100, "Unsupported post request."), {}
        auth = record.authorization
        if not auth.startswith("Bearer ") or not auth[7:].strip() or (state.token and auth[7:] != state.token):
            return 401, error_body(190), {}
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            if failure.code is None:
                return failure.status, {"error": {"message": "Service unavailable", "code": 2}}, headers
            return failure.status, error_body(failure.code), headers
        problem = _validate(body)
        if problem:
            return 400, error_body(100, details=problem), {}
        recipient = str(body.get("to") or body.get("recipient"))
        code = state.by_recipient.get(recipient)
        if code is not None:
            return 400, error_body(code), {}
        message_id = "wamid." + uuid.uuid4().hex.upper()
        record.message_id = message_id
        contact: dict[str, str] = {"input": recipient}
        if body.get("to"):
            contact["wa_id"] = "".join(ch for ch in recipient if ch.isdigit())
        else:
            contact["user_id"] = recipient
        return (
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": message_id, "message_status": "accepted"}],
            },
            {},
        )

    def _upload(self, phone_number_id: str, raw: bytes) -> None:
        """`POST /{version}/{phone-number-id}/media`, multipart/form-data with `messaging_product`
        ("whatsapp"), `type` (the MIME type) and `file`: answers `{"id": media_id}`."""
        auth = self.headers.get("Authorization", "")
        state = self.server.state
        fields: dict[str, Any] = {}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=email_policy).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    fields[str(name)] = (
                        part.get_payload(decode=True) or b"",
                        part.get_filename(),
                        part.get_content_type(),
                    )
        record = Recorded(
            "POST",
            self.path,
            auth,
            {k: (v[0].decode(errors="replace") if k != "file" else f"<{len(v[0])} bytes>") for k, v in fields.items()},
        )
        with state.lock:
            state.requests.append(record)
        if not self._authorized(auth):
            self._answer(401, error_body(190))
            return
        product = fields.get("messaging_product", (b"",))[0]
        if product != b"whatsapp":
            self._answer(
                400, error_body(100, details="The parameter messaging_product is required and must be whatsapp.")
            )
            return
        if "file" not in fields:
            self._answer(400, error_body(100, details="The parameter file is required."))
            return
        data, _filename, part_type = fields["file"]
        mime_type = fields.get("type", (part_type.encode(),))[0].decode(errors="replace")
        if mime_type not in UPLOAD_TYPES:
            self._answer(400, error_body(131053, details=f"Unsupported file type {mime_type!r}."))
            return
        if not data or len(data) > UPLOAD_MAX_BYTES:
            self._answer(400, error_body(131053, details="The file is empty or too large."))
            return
        media_id = self.server.add_media(data, mime_type, phone_number_id=phone_number_id)
        record.answer_status = 200  # (not a message: `sent()` lists only messages)
        self._answer(200, {"id": media_id})

    def _create_template(self, waba_id: str, auth: str, body: Any) -> None:
        if not self._authorized(auth):
            self._answer(401, error_body(190))
            return
        problem = _validate_template(body)
        if problem:
            self._answer(400, error_body(100, details=problem))
            return
        state = self.server.state
        with state.lock:
            existing = state.templates.setdefault(waba_id, [])
            if any(t["name"] == body["name"] and t["language"] == body["language"] for t in existing):
                answer = error_body(100, "Invalid parameter")
                answer["error"]["error_subcode"] = 2388024
                answer["error"]["error_user_title"] = "Message template already exists"
                self._answer(400, answer)
                return
            template = {
                "id": str(uuid.uuid4().int % 10**16),
                "name": body["name"],
                "language": body["language"],
                "category": body["category"],
                "status": "PENDING",
                "components": body["components"],
            }
            existing.append(template)
        self._answer(200, {"id": template["id"], "status": "PENDING", "category": template["category"]})

    def _list_templates(self, waba_id: str, auth: str, query: str) -> None:
        if not self._authorized(auth):
            self._answer(401, error_body(190))
            return
        params = dict(part.partition("=")[::2] for part in query.split("&") if part)
        try:
            limit = max(1, min(int(params.get("limit", "25")), 100))
            start = int(base64.urlsafe_b64decode(params["after"].encode()).decode()) if params.get("after") else 0
        except (ValueError, KeyError):
            self._answer(400, error_body(100, details="Invalid paging parameter."))
            return
        with self.server.state.lock:
            every = [dict(t) for t in self.server.state.templates.get(waba_id, [])]
        page = every[start : start + limit]
        answer: dict[str, Any] = {"data": page}
        if page:
            cursors = {
                "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(start + len(page)).encode()).decode(),
            }
            answer["paging"] = {"cursors": cursors}
            if start + len(page) < len(every):
                base = f"{self.server.base_url}{self.path.split('?', 1)[0]}"
                answer["paging"]["next"] = f"{base}?limit={limit}&after={cursors['after']}"
        self._answer(200, answer)

    def _control(self, path: str, body: Any) -> None:
        state = self.server.state
        if path.rstrip("/") == "/_fake/reset":
            self.server.reset()
        elif path.rstrip("/") == "/_fake/fail" and isinstance(body, dict):
            self.server.script(
                status=int(body.get("status", 400)),
                code=body.get("code"),
                times=int(body.get("times", 1)),
                retry_after=body.get("retry_after"),
            )
        elif path.rstrip("/") == "/_fake/media" and isinstance(body, dict):
            media_id = self.server.add_media(
                base64.b64decode(str(body.get("data_base64", ""))),
                str(body.get("mime_type", "application/octet-stream")),
                phone_number_id=str(body.get("phone_number_id", "")),
            )
            self._answer(200, {"id": media_id})
            return
        elif path.rstrip("/") == "/_fake/templates/review" and isinstance(body, dict):
            self.server.review(
                str(body.get("name", "")),
                str(body.get("language", "")),
                str(body.get("status", "APPROVED")),
                str(body.get("reason", "")),
            )
        elif path.rstrip("/") == "/_fake/fail_recipient" and isinstance(body, dict):
            with state.lock:
                state.by_recipient[str(body["to"])] = int(body["code"])
        else:
            self._answer(404, {"ok": False})
            return
        self._answer(200, {"ok": True})


class FakeGraphServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        super().__init__((host, port), _Handler)
        self.state = FakeGraphState(token=token)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGraphServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-graph", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    # --- switches -----------------------------------------------------------------------------
    def reset(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.scripted.clear()
            self.state.by_recipient.clear()
            self.state.media.clear()
            self.state.templates.clear()

    def script(
        self, *, status: int, code: int | None = None, times: int = 1, retry_after: int | None = None, delay: float = 0
    ) -> None:
        """The next `times` send requests fail with this HTTP status and Meta error code."""
        with self.state.lock:
            self.state.scripted.extend(Failure(status, code, retry_after, delay) for _ in range(times))

    def add_media(self, data: bytes, mime_type: str, *, phone_number_id: str = "", media_id: str = "") -> str:
        """Put a file where `GET /{media-id}` finds it (as if a WhatsApp user had sent it); its id."""
        media_id = media_id or str(uuid.uuid4().int % 10**16)
        with self.state.lock:
            self.state.media[media_id] = Media(data, mime_type, phone_number_id)
        return media_id

    def review(self, name: str, language: str, status: str = "APPROVED", reason: str = "") -> None:
        """Meta's review of a submitted template: APPROVED, REJECTED (with a reason), PAUSED, ..."""
        with self.state.lock:
            for templates in self.state.templates.values():
                for template in templates:
                    if template["name"] == name and template["language"] == language:
                        template["status"] = status
                        if reason:
                            template["rejected_reason"] = reason

    def templates(self, waba_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(t) for t in self.state.templates.get(waba_id, [])]

    def fail_recipient(self, to: str, code: int) -> None:
        with self.state.lock:
            self.state.by_recipient[to] = code

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    def sent(self) -> list[Recorded]:
        """The requests that were accepted (answered with a message id)."""
        return [r for r in self.requests if r.message_id]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake WhatsApp Cloud API for tests and the demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=None, help="accept only this access token")
    args = parser.parse_args(argv)
    server = FakeGraphServer(args.host, args.port, token=args.token)
    print(f"fake Graph API on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
