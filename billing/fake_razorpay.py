"""A fake Razorpay API for tests and the demo: stdlib only, runnable on its own.

    python -m billing.fake_razorpay --port 8766 [--demo] [--webhook-url URL --webhook-secret S]

The `razorpay` SDK is pointed at it by base URL (RAZORPAY_BASE_URL=http://127.0.0.1:8766). It
implements, as Razorpay documents them, with HTTP basic auth (key id : key secret; 401 otherwise):
- POST /v1/payment_links (amount in paise, integer, at least 100; currency INR; description up to
  2048; reference_id up to 40, unique per account; notes up to 15 keys of up to 255 characters;
  expire_by at least 15 minutes ahead; customer contact/email/name; notify; reminder_enable;
  accept_partial; unknown fields refused), GET /v1/payment_links/{id}, POST
  /v1/payment_links/{id}/cancel (not once paid);
- GET /v1/payments/{id}, POST /v1/payments/{id}/refund (amount at most what is left; speed normal
  or optimum; receipt up to 40; notes), GET /v1/payments/{id}/refunds, GET /v1/refunds/{id}.
Errors are Razorpay's body `{"error": {"code": "BAD_REQUEST_ERROR", "description", "source",
"step", "reason", "metadata", "field"}}` (400), SERVER_ERROR (500) when scripted.

Test helpers (nothing leaves the machine): `server.pay(link_id)` pays a link as a customer would
(UPI), returning the webhook payloads Razorpay would send (`payment.captured`,
`payment_link.paid`), `server.fail(link_id)` a declined attempt (`payment.failed`),
`server.process_refund(refund_id)` (`refund.processed`); `event(name, **entities)` wraps entities
in Razorpay's event envelope and `signed_headers(body, secret, event_id)` signs a body exactly as
Razorpay does (X-Razorpay-Signature: hex HMAC-SHA256 of the raw body with the webhook secret).
`deliver(url, payload, secret)` posts one to a running DocOS; in the demo, POST
/_fake/refunds/{id}/process settles a refund and posts its `refund.processed`. `server.script(status, code,
description)` queues failures for the next API requests; `server.requests` records them.

In the demo (`--demo`) the link's short URL opens a page here with a "Pay" button that pays the link
and posts the signed webhooks to DocOS (`--webhook-url`, `--webhook-secret`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEMO_PORT = int(os.environ.get("DOCOS_FAKE_RAZORPAY_PORT", "8766"))
DEMO_KEY_ID = "rzp_test_DocOSDemo0001"
DEMO_KEY_SECRET = "docos-demo-key-secret"
DEMO_WEBHOOK_SECRET = "docos-demo-webhook-secret"
DEMO_PENDING_LINK = "plink_DemoPending0001"
DEMO_ROUTE_KEY = "docos-demo-razorpay-route"  # the demo clinic's webhook path
DEMO_PENDING = {  # billing.demo records the same link on the demo clinic's invoice
    "amount": 215000, "currency": "INR",
    "description": "Sunrise Family Clinic invoice (consultation, suturing, dressing)",
    "reference_id": "docos-demo-pending",
    "customer": {"name": "Demo patient"}, "notify": {"sms": False, "email": False}, "reminder_enable": False,
    "notes": {"source": "DocOS demo"},
}  # fmt: skip

LINK_FIELDS = {
    "amount", "currency", "accept_partial", "first_min_partial_amount", "description", "customer", "notify",
    "reminder_enable", "notes", "callback_url", "callback_method", "expire_by", "reference_id", "upi_link",
}  # fmt: skip
PROCESS_REFUND_RE = re.compile(r"^/_fake/refunds/(rfnd_[A-Za-z0-9]{14})/process/?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONTACT_RE = re.compile(r"^\+?[0-9 ]{8,15}$")


def _rid(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(14))


def error_body(description: str, *, field: str | None = None, code: str = "BAD_REQUEST_ERROR") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "description": description,
            "source": "business" if field else "NA",
            "step": "payment_initiation" if field else "NA",
            "reason": "input_validation_failed" if field else "NA",
            "metadata": {},
            "field": field,
        }
    }


def event(name: str, *, account_id: str = "acc_DocOSFake00001", **entities: dict[str, Any]) -> dict[str, Any]:
    """Razorpay's webhook envelope around entities (payment_link=..., payment=..., order=..., refund=...)."""
    return {
        "entity": "event",
        "account_id": account_id,
        "event": name,
        "contains": list(entities),
        "payload": {name_: {"entity": entity} for name_, entity in entities.items()},
        "created_at": int(time.time()),
    }


def signed_headers(body: bytes, secret: str, event_id: str | None = None) -> dict[str, str]:
    return {
        "X-Razorpay-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Razorpay-Event-Id": event_id or _rid("evt")[4:],
        "Content-Type": "application/json",
    }


def deliver(url: str, payload: dict[str, Any], secret: str, event_id: str | None = None) -> int:
    """Post one signed webhook to DocOS as Razorpay does; returns the HTTP status."""
    body = json.dumps(payload).encode()
    if not url.startswith(("http://", "https://")):
        raise ValueError("a webhook URL is http(s)")
    request = urllib.request.Request(url, data=body, headers=signed_headers(body, secret, event_id), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (a configured local URL)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class Account:
    key_id: str
    key_secret: str
    account_id: str = field(default_factory=lambda: _rid("acc"))


@dataclass
class Recorded:
    method: str
    path: str
    key_id: str
    body: Any


@dataclass
class FakeRazorpayState:
    accounts: dict[str, Account] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    link_account: dict[str, str] = field(default_factory=dict)  # link id -> key id
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _validate_link(body: Any, existing_refs: set[str]) -> tuple[str, str | None] | None:
    """Razorpay's documented checks for a payment link; (description, field) of the first failure."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON.", None
    extra = sorted(set(body) - LINK_FIELDS)
    if extra:
        return "wrong input fields sent.", extra[0]
    amount = body.get("amount")
    if amount is None:
        return "The amount field is required.", "amount"
    if not isinstance(amount, int) or isinstance(amount, bool):
        return "The amount must be an integer.", "amount"
    if amount < 100:
        return "The amount must be atleast INR 1.00", "amount"
    if body.get("currency", "INR") != "INR":
        return "The selected currency is invalid.", "currency"
    if len(str(body.get("description") or "")) > 2048:
        return "The description may not be greater than 2048 characters.", "description"
    ref = body.get("reference_id")
    if ref is not None:
        if len(str(ref)) > 40:
            return "The reference id may not be greater than 40 characters.", "reference_id"
        if str(ref) in existing_refs:
            return "payment link creation with reference ID already attempted", "reference_id"
    notes = body.get("notes") or {}
    if not isinstance(notes, dict) or len(notes) > 15:
        return "Number of fields in notes should be less than or equal to 15", "notes"
    if any(len(str(v)) > 255 for v in notes.values()):
        return "value: the length must not be greater than 255.", "notes"
    expire_by = body.get("expire_by")
    if expire_by is not None and (not isinstance(expire_by, int) or expire_by < time.time() + 15 * 60):
        return "timestamp must be atleast 15 minutes in future", "expire_by"
    if expire_by is not None and expire_by > time.time() + 183 * 86400:
        return "expire by date cannot exceed more than six months from the date of creation", "expire_by"
    customer = body.get("customer") or {}
    if not isinstance(customer, dict):
        return "The customer field must be an object.", "customer"
    if customer.get("email") and not EMAIL_RE.match(str(customer["email"])):
        return "The email must be a valid email address.", "email"
    if customer.get("contact") and not CONTACT_RE.match(str(customer["contact"])):
        return "The contact format is invalid.", "contact"
    for flag in ("accept_partial", "reminder_enable"):
        if flag in body and not isinstance(body[flag], bool):
            return f"The {flag} field must be true or false.", flag
    return None


class _Handler(BaseHTTPRequestHandler):
    server: FakeRazorpayServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _key_id(self) -> str:
        auth = self.headers.get("Authorization", "")
        try:
            return base64.b64decode(auth[6:]).decode().partition(":")[0] if auth.startswith("Basic ") else ""
        except ValueError:
            return ""

    def _account(self) -> Account | None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            key_id, _, key_secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        account = self.server.state.accounts.get(key_id)
        if account is None or not hmac.compare_digest(account.key_secret.encode(), key_secret.encode()):
            return None
        return account

    def _api(self, method: str) -> None:
        state = self.server.state
        path, _, query = self.path.partition("?")
        path = path.rstrip("/")
        body = self._body() if method in ("POST", "PATCH") else dict(urllib.parse.parse_qsl(query))
        account = self._account()
        with state.lock:
            state.requests.append(Recorded(method, path, account.key_id if account else "", body))
            failure = state.failures.pop(0) if state.failures else None
        if account is None:
            known = self._key_id() in state.accounts
            return self._answer(401, error_body(f"The api {'secret' if known else 'key'} provided is invalid"))
        if failure is not None:
            status, code, description = failure
            return self._answer(status, error_body(description, code=code))
        if body is None:
            return self._answer(400, error_body("The request body is not valid JSON."))
        status, answer = self.server.route(account, method, path, body)
        self._answer(status, answer)

    def do_GET(self) -> None:
        if self.path.startswith("/s/"):  # a subscription's hosted checkout
            from billing import fake_razorpay_subscriptions

            status, html = fake_razorpay_subscriptions.checkout_page(self.server, self.path[3:].split("?", 1)[0])
            return self._answer(status, html, "text/html; charset=utf-8")
        if self.path.startswith("/i/"):
            return self._pay_page(self.path[3:].split("?", 1)[0])
        self._api("GET")

    def do_POST(self) -> None:
        if self.path.startswith("/s/"):
            from billing import fake_razorpay_subscriptions

            status, html = fake_razorpay_subscriptions.checkout(self.server, self.path[3:].split("?", 1)[0])
            return self._answer(status, html, "text/html; charset=utf-8")
        if self.path.startswith("/i/"):
            return self._pay_from_page(self.path[3:].split("?", 1)[0])
        match = PROCESS_REFUND_RE.match(self.path)
        if match:  # the demo's stand-in for Razorpay's bank settling a refund
            refund_id = match.group(1)
            if refund_id not in self.server.state.refunds:
                return self._answer(404, error_body("The id provided does not exist", field="id"))
            sent = self.server.send_webhooks([self.server.process_refund(refund_id)])
            return self._answer(200, {"processed": refund_id, "webhooks_delivered": sent})
        self._api("POST")

    def do_PATCH(self) -> None:
        self._api("PATCH")

    def _link_by_code(self, code: str) -> dict[str, Any] | None:
        return next(
            (link for link in self.server.state.links.values() if link["short_url"].endswith("/i/" + code)), None
        )

    def _pay_page(self, code: str) -> None:
        link = self._link_by_code(code)
        if link is None:
            return self._answer(404, "<p>No such payment link.</p>", "text/html; charset=utf-8")
        rupees = f"{link['amount'] / 100:,.2f}"
        state = "" if link["status"] == "created" else f"<p>This link is {link['status']}.</p>"
        form = f'<form method="post"><button type="submit">Pay ₹{rupees} by UPI</button></form>' if not state else state
        self._answer(
            200,
            f"<!doctype html><title>Razorpay (fake)</title><h1>{link['description']}</h1>"
            f"<p>Amount ₹{rupees}</p>{form}<p><small>The local fake of Razorpay: no money moves.</small></p>",
            "text/html; charset=utf-8",
        )

    def _pay_from_page(self, code: str) -> None:
        link = self._link_by_code(code)
        if link is None or link["status"] != "created":
            return self._answer(400, "<p>This link cannot be paid.</p>", "text/html; charset=utf-8")
        events = self.server.pay(link["id"])
        sent = self.server.send_webhooks(events)
        self._answer(200, f"<p>Paid. Webhooks delivered: {sent}</p>", "text/html; charset=utf-8")


class FakeRazorpayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.state = FakeRazorpayState()
        self._thread: threading.Thread | None = None
        self.webhook_url = ""
        self.webhook_secret = ""
        self.platform_webhook_url = ""  # DocOS's /webhooks/razorpay/platform/ (subscription checkout)
        self.platform_webhook_secret = ""

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeRazorpayServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-razorpay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        with self.state.lock:
            accounts = self.state.accounts
            self.state = FakeRazorpayState(accounts=accounts)

    def add_account(self, key_id: str, key_secret: str) -> Account:
        account = Account(key_id, key_secret)
        self.state.accounts[key_id] = account
        return account

    def script(
        self, *, status: int = 500, code: str = "SERVER_ERROR", description: str = "Server error", times: int = 1
    ) -> None:
        with self.state.lock:
            self.state.failures.extend([(status, code, description)] * times)

    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)

    # --- the API ---------------------------------------------------------------------------------

    def route(self, account: Account, method: str, path: str, body: Any) -> tuple[int, Any]:
        state = self.state
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_links"]:
            if method == "POST" and len(parts) == 2:
                return self._create_link(account, body)
            if method == "GET" and len(parts) == 2:
                mine = [
                    link for lid, link in state.links.items()
                    if state.link_account.get(lid) == account.key_id
                    and (not body.get("payment_id") or any(
                        p["payment_id"] == body["payment_id"] for p in (link.get("payments") or [])
                    ))
                    and (not body.get("reference_id") or link.get("reference_id") == body["reference_id"])
                ]  # fmt: skip
                return 200, {"payment_links": mine}
            link = state.links.get(parts[2]) if len(parts) >= 3 else None
            if link is None or state.link_account.get(link["id"]) != account.key_id:
                return 400, error_body("The id provided does not exist", field="id")
            if method == "GET" and len(parts) == 3:
                return 200, link
            if method == "POST" and parts[3:] == ["cancel"]:
                with state.lock:
                    if link["status"] in ("paid", "partially_paid"):
                        return 400, error_body("cannot cancel or expire an already paid/partially paid link")
                    if link["status"] != "created":
                        return 400, error_body("cannot cancel or expire an expired link")
                    link.update(status="cancelled", cancelled_at=int(time.time()), updated_at=int(time.time()))
                return 200, link
        if parts[:2] == ["v1", "payments"] and len(parts) >= 3:
            payment = state.payments.get(parts[2])
            if payment is None or payment.get("_key") != account.key_id:
                return 400, error_body("The id provided does not exist", field="id")
            public = {k: v for k, v in payment.items() if not k.startswith("_")}
            if method == "GET" and len(parts) == 3:
                return 200, public
            if method == "POST" and parts[3:] == ["refund"]:
                return self._refund(payment, body)
            if method == "GET" and parts[3:] == ["refunds"]:
                items = [r for r in state.refunds.values() if r["payment_id"] == payment["id"]]
                return 200, {"entity": "collection", "count": len(items), "items": items}
        if parts[:2] in (["v1", "plans"], ["v1", "customers"], ["v1", "subscriptions"]):
            from billing import fake_razorpay_subscriptions

            with state.lock:
                return fake_razorpay_subscriptions.api(self, account, method, parts, body)
        if parts[:2] == ["v1", "refunds"] and len(parts) == 3 and method == "GET":
            refund = state.refunds.get(parts[2])
            if refund is None:
                return 400, error_body("The id provided does not exist", field="id")
            return 200, refund
        return 400, error_body("The requested URL was not found on the server.")

    def _create_link(self, account: Account, body: Any, link_id: str | None = None) -> tuple[int, Any]:
        state = self.state
        with state.lock:
            refs = {
                str(link.get("reference_id"))
                for lid, link in state.links.items()
                if state.link_account.get(lid) == account.key_id and link.get("reference_id")
            }
            problem = _validate_link(body, refs)
            if problem is not None:
                return 400, error_body(problem[0], field=problem[1])
            now = int(time.time())
            link_id = link_id or _rid("plink")
            link = {
                "accept_partial": bool(body.get("accept_partial", False)),
                "amount": body["amount"],
                "amount_paid": 0,
                "callback_method": body.get("callback_method", ""),
                "callback_url": body.get("callback_url", ""),
                "cancelled_at": 0,
                "created_at": now,
                "currency": body.get("currency", "INR"),
                "customer": body.get("customer") or {},
                "description": body.get("description", ""),
                "expire_by": body.get("expire_by", 0),
                "expired_at": 0,
                "first_min_partial_amount": body.get("first_min_partial_amount", 0),
                "id": link_id,
                "notes": body.get("notes") or {},
                "notify": body.get("notify") or {"sms": True, "email": True},
                "payments": None,
                "reference_id": body.get("reference_id", ""),
                "reminder_enable": bool(body.get("reminder_enable", True)),
                "reminders": [],
                "short_url": f"{self.base_url}/i/{link_id[6:16]}",
                "status": "created",
                "updated_at": now,
                "upi_link": bool(body.get("upi_link", False)),
                "user_id": "",
            }
            state.links[link_id] = link
            state.link_account[link_id] = account.key_id
        return 200, link

    def _refund(self, payment: dict[str, Any], body: Any) -> tuple[int, Any]:
        state = self.state
        if not isinstance(body, dict):
            return 400, error_body("The request body is not valid JSON.")
        with state.lock:
            left = payment["amount"] - payment["amount_refunded"]
            amount = body.get("amount", left)
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
                return 400, error_body("The amount must be atleast INR 1.00", field="amount")
            if amount > left:
                return 400, error_body("The refund amount provided is greater than amount captured", field="amount")
            if body.get("speed", "normal") not in ("normal", "optimum"):
                return 400, error_body("Invalid speed", field="speed")
            if len(str(body.get("receipt") or "")) > 40:
                return 400, error_body("The receipt may not be greater than 40 characters.", field="receipt")
            refund = {
                "id": _rid("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": "INR",
                "payment_id": payment["id"],
                "notes": body.get("notes") or {},
                "receipt": body.get("receipt"),
                "acquirer_data": {"arn": None},
                "created_at": int(time.time()),
                "batch_id": None,
                "status": "pending",
                "speed_processed": "normal",
                "speed_requested": body.get("speed", "normal"),
            }
            state.refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            payment["refund_status"] = "full" if payment["amount_refunded"] >= payment["amount"] else "partial"
        return 200, refund

    # --- what customers and Razorpay do (test and demo helpers) ----------------------------------

    def _account_of(self, link_id: str) -> Account:
        return self.state.accounts[self.state.link_account[link_id]]

    def pay(self, link_id: str, *, method: str = "upi") -> list[dict[str, Any]]:
        """The customer pays the whole link. Returns the events Razorpay sends, in its usual order."""
        state = self.state
        with state.lock:
            link = state.links[link_id]
            now = int(time.time())
            order_id = link.get("order_id") or _rid("order")
            order = {
                "id": order_id, "entity": "order", "amount": link["amount"], "amount_paid": link["amount"],
                "amount_due": 0, "currency": "INR", "receipt": None, "offer_id": None, "status": "paid",
                "attempts": 1, "notes": [], "created_at": now,
            }  # fmt: skip
            state.orders[order_id] = order
            payment = self._payment(link, order_id, "captured", method, now)
            link.update(status="paid", amount_paid=link["amount"], order_id=order_id, updated_at=now)
            link["payments"] = [
                *(link.get("payments") or []),
                {"amount": payment["amount"], "created_at": now, "method": method, "payment_id": payment["id"],
                 "status": "captured"}
            ]  # fmt: skip
        account = self._account_of(link_id).account_id
        public = {k: v for k, v in payment.items() if not k.startswith("_")}
        return [
            event("payment.captured", account_id=account, payment=public),
            event("payment_link.paid", account_id=account, payment_link=dict(link), order=order, payment=public),
        ]

    def fail(
        self, link_id: str, *, code: str = "BAD_REQUEST_ERROR", description: str = "Payment failed"
    ) -> dict[str, Any]:
        state = self.state
        with state.lock:
            link = state.links[link_id]
            order_id = link.get("order_id") or _rid("order")
            link["order_id"] = order_id
            payment = self._payment(link, order_id, "failed", "card", int(time.time()))
            attempt = {"amount": payment["amount"], "created_at": payment["created_at"], "method": "card",
                       "payment_id": payment["id"], "status": "failed"}  # fmt: skip
            link["payments"] = [*(link.get("payments") or []), attempt]  # Razorpay lists every attempt
            payment.update(
                error_code=code,
                error_description=description,
                error_source="bank",
                error_step="payment_authorization",
                error_reason="payment_declined",
            )
        public = {k: v for k, v in payment.items() if not k.startswith("_")}
        return event("payment.failed", account_id=self._account_of(link_id).account_id, payment=public)

    def _payment(self, link: dict[str, Any], order_id: str, status: str, method: str, now: int) -> dict[str, Any]:
        customer = link.get("customer") or {}
        payment = {
            "id": _rid("pay"), "entity": "payment", "amount": link["amount"], "currency": "INR", "status": status,
            "order_id": order_id, "invoice_id": None, "international": False, "method": method,
            "amount_refunded": 0, "refund_status": None, "captured": status == "captured",
            "description": link.get("description"), "card_id": None, "bank": None, "wallet": None,
            "vpa": "success@razorpay" if method == "upi" else None,
            "email": customer.get("email") or "void@razorpay.com",
            "contact": customer.get("contact") or "", "notes": [],
            "fee": link["amount"] * 2 // 100, "tax": link["amount"] * 36 // 10000, "error_code": None,
            "error_description": None, "error_source": None, "error_step": None, "error_reason": None,
            "acquirer_data": {"rrn": "".join(secrets.choice(string.digits) for _ in range(12))}, "created_at": now,
            "_key": self.state.link_account[link["id"]],
        }  # fmt: skip
        self.state.payments[payment["id"]] = payment
        return payment

    def process_refund(self, refund_id: str) -> dict[str, Any]:
        with self.state.lock:
            refund = self.state.refunds[refund_id]
            refund["status"] = "processed"
            payment = self.state.payments[refund["payment_id"]]
            key = payment["_key"]
        public = {k: v for k, v in payment.items() if not k.startswith("_")}
        return event(
            "refund.processed", account_id=self.state.accounts[key].account_id, refund=dict(refund), payment=public
        )

    def send_webhooks(self, events: list[dict[str, Any]]) -> int:
        sent = 0
        if self.webhook_url and self.webhook_secret:
            for item in events:
                sent += deliver(self.webhook_url, item, self.webhook_secret) == 200
        return sent

    def load_demo(self) -> None:
        """The demo clinic's account and its pending link (clinics' demo seed records the same link)."""
        account = self.add_account(DEMO_KEY_ID, DEMO_KEY_SECRET)
        self._create_link(
            account, dict(DEMO_PENDING, expire_by=int(time.time()) + 30 * 86400), link_id=DEMO_PENDING_LINK
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEMO_PORT)
    parser.add_argument("--demo", action="store_true", help="the demo clinic's account and pending link")
    parser.add_argument("--webhook-url", default="", help="where the pay page posts the signed webhooks")
    parser.add_argument("--webhook-secret", default="")
    parser.add_argument("--platform-webhook-url", default="", help="where subscription checkouts post webhooks")
    parser.add_argument("--platform-webhook-secret", default="")
    args = parser.parse_args(argv)
    server = FakeRazorpayServer(args.host, args.port)
    server.webhook_url, server.webhook_secret = args.webhook_url, args.webhook_secret
    server.platform_webhook_url, server.platform_webhook_secret = (
        args.platform_webhook_url,
        args.platform_webhook_secret,
    )
    if args.demo:
        from billing import fake_razorpay_subscriptions

        server.load_demo()
        fake_razorpay_subscriptions.load_demo(server)
    print(f"fake Razorpay on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
