"""The fake Razorpay's Plans, Customers and Subscriptions APIs (billing.fake_razorpay mounts them),
with Razorpay's documented validation and entity bodies, and the helpers tests and the demo use to
play what Razorpay does over a subscription's life (checkout, charges, failures), each returning the
webhook events Razorpay would send in its usual order.

- POST /v1/plans: period daily|weekly|monthly|yearly, interval >= 1 (daily at least 7), item with
  name and amount (paise, at least 100) in INR; GET /v1/plans/{id}.
- POST /v1/customers: name, email, contact, gstin, notes; fail_existing "1" (default) refuses an
  email already a customer ("Customer already exists for the merchant"), "0" answers that customer.
- POST /v1/subscriptions: plan_id (known), total_count (1..), quantity (>= 1), start_at (future),
  customer_notify 0|1, notes (<= 15); status "created" and a `short_url`. GET /v1/subscriptions/{id};
  POST /v1/subscriptions/{id}/cancel {cancel_at_cycle_end}; PATCH /v1/subscriptions/{id}
  {quantity, plan_id, schedule_change_at now|cycle_end} (only authenticated or active).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billing.fake_razorpay import Account, FakeRazorpayServer

PERIODS = {"daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}


def api(server: FakeRazorpayServer, account: Account, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
    from billing.fake_razorpay import _rid, error_body

    state = server.state
    kind = parts[1]
    now = int(time.time())
    if method == "POST" and len(parts) == 2:
        if not isinstance(body, dict):
            return 400, error_body("The request body is not valid JSON.")
        notes = body.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15:
            return 400, error_body("Number of fields in notes should be less than or equal to 15", field="notes")
        if kind == "plans":
            if body.get("period") not in PERIODS:
                return 400, error_body("The period must be one of daily, weekly, monthly or yearly.", field="period")
            interval = body.get("interval")
            if not isinstance(interval, int) or interval < 1:
                return 400, error_body("The interval field is required.", field="interval")
            if body["period"] == "daily" and interval < 7:
                return 400, error_body("The interval must be at least 7 for daily plans.", field="interval")
            item = body.get("item") or {}
            if not item.get("name"):
                return 400, error_body("The item name field is required.", field="name")
            amount = item.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
                return 400, error_body("The amount must be atleast INR 1.00", field="amount")
            if item.get("currency", "INR") != "INR":
                return 400, error_body("The selected currency is invalid.", field="currency")
            plan = {
                "id": _rid("plan"), "entity": "plan", "interval": interval, "period": body["period"],
                "item": {"id": _rid("item"), "active": True, "name": item["name"],
                         "description": item.get("description"),
                         "amount": amount, "unit_amount": amount, "currency": "INR", "type": "plan", "unit": None,
                         "tax_inclusive": False, "hsn_code": None, "sac_code": None, "tax_rate": None, "tax_id": None,
                         "tax_group_id": None, "created_at": now, "updated_at": now},
                "notes": notes, "created_at": now, "_key": account.key_id,
            }  # fmt: skip
            state.plans[plan["id"]] = plan
            return 200, _public(plan)
        if kind == "customers":
            email = str(body.get("email") or "")
            if len(str(body.get("name") or "")) > 50:
                return 400, error_body("The name may not be greater than 50 characters.", field="name")
            known = next(
                (c for c in state.customers.values() if email and c["email"] == email and c["_key"] == account.key_id),
                None,
            )
            if known is not None:
                if str(body.get("fail_existing", "1")) == "1":
                    return 400, error_body("Customer already exists for the merchant", field="email")
                return 200, _public(known)
            customer = {
                "id": _rid("cust"), "entity": "customer", "name": body.get("name", ""), "email": email,
                "contact": body.get("contact", ""), "gstin": body.get("gstin"), "notes": notes,
                "created_at": now, "_key": account.key_id,
            }  # fmt: skip
            state.customers[customer["id"]] = customer
            return 200, _public(customer)
        # subscriptions
        plan_of_sub = state.plans.get(str(body.get("plan_id") or ""))
        if not body.get("plan_id"):
            return 400, error_body("The plan id field is required.", field="plan_id")
        if plan_of_sub is None or plan_of_sub["_key"] != account.key_id:
            return 400, error_body("The id provided does not exist", field="plan_id")
        total = body.get("total_count")
        if not isinstance(total, int) or total < 1:
            return 400, error_body("The total count field is required.", field="total_count")
        quantity = body.get("quantity", 1)
        if not isinstance(quantity, int) or quantity < 1:
            return 400, error_body("The quantity must be at least 1.", field="quantity")
        start_at = body.get("start_at")
        if start_at is not None and (not isinstance(start_at, int) or start_at < now):
            return 400, error_body("Start time cannot be lesser than the current time", field="start_at")
        customer_id = body.get("customer_id")
        if customer_id is not None and customer_id not in state.customers:
            return 400, error_body("The id provided does not exist", field="customer_id")
        sub_id = _rid("sub")
        sub = {
            "id": sub_id, "entity": "subscription", "plan_id": plan_of_sub["id"], "customer_id": customer_id,
            "status": "created", "current_start": None, "current_end": None, "ended_at": None,
            "quantity": quantity, "notes": notes, "charge_at": start_at or now, "start_at": start_at or now,
            "end_at": None, "auth_attempts": 0, "total_count": total, "paid_count": 0,
            "customer_notify": bool(body.get("customer_notify", 1)), "created_at": now,
            "expire_by": body.get("expire_by"),
            "short_url": f"{server.base_url}/s/{sub_id[4:]}", "has_scheduled_changes": False,
            "change_scheduled_at": None, "source": "api", "offer_id": None, "remaining_count": total,
            "_key": account.key_id,
        }  # fmt: skip
        state.subscriptions[sub_id] = sub
        return 200, _public(sub)
    store = {"plans": state.plans, "customers": state.customers, "subscriptions": state.subscriptions}[kind]
    item = store.get(parts[2]) if len(parts) >= 3 else None
    if item is None or item["_key"] != account.key_id:
        return 400, error_body("The id provided does not exist", field="id")
    if method == "GET" and len(parts) == 3:
        return 200, _public(item)
    if kind != "subscriptions":
        return 400, error_body("The requested URL was not found on the server.")
    if method == "POST" and parts[3:] == ["cancel"]:
        if item["status"] in ("cancelled", "completed", "expired"):
            return 400, error_body("Subscription is not cancellable in cancelled status.")
        if body.get("cancel_at_cycle_end", 0) not in (0, 1, True, False):
            return 400, error_body("The cancel at cycle end field is invalid.", field="cancel_at_cycle_end")
        if body.get("cancel_at_cycle_end") and item["status"] == "active":
            item.update(end_at=item["current_end"], has_scheduled_changes=True, change_scheduled_at=item["current_end"])
        else:
            item.update(status="cancelled", ended_at=now)
        return 200, _public(item)
    if method == "PATCH" and len(parts) == 3:
        if item["status"] not in ("authenticated", "active"):
            return 400, error_body(f"Subscription can not be updated in {item['status']} state")
        if item.get("_method") == "upi":  # Razorpay's documented refusal for UPI Autopay mandates
            return 400, error_body("subscriptions cannot be updated when payment mode is UPI")
        if body.get("schedule_change_at", "now") not in ("now", "cycle_end"):
            return 400, error_body("The selected schedule change at is invalid.", field="schedule_change_at")
        quantity = body.get("quantity", item["quantity"])
        if not isinstance(quantity, int) or quantity < 1:
            return 400, error_body("The quantity must be at least 1.", field="quantity")
        if body.get("schedule_change_at") == "cycle_end":
            item.update(has_scheduled_changes=True, change_scheduled_at=item["current_end"])
        else:
            item["quantity"] = quantity
        return 200, _public(item)
    return 400, error_body("The requested URL was not found on the server.")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


# --- what the customer and Razorpay do ------------------------------------------------------------


def _events(
    server: FakeRazorpayServer, sub: dict[str, Any], *names: str, **extra: dict[str, Any]
) -> list[dict[str, Any]]:
    from billing.fake_razorpay import event

    account = server.state.accounts[sub["_key"]].account_id
    return [event(name, account_id=account, subscription=_public(sub), **extra) for name in names]


def authenticate(server: FakeRazorpayServer, sub_id: str, *, method: str = "card") -> list[dict[str, Any]]:
    """The customer completes the hosted checkout (mandate authorised by card or UPI Autopay). A
    subscription starting now is charged at once (activated + charged); one with a later start_at (a
    trial) waits, authenticated. Razorpay refuses to update a UPI-mandated subscription."""
    sub = server.state.subscriptions[sub_id]
    sub["_method"] = method
    sub["auth_attempts"] += 1
    sub["status"] = "authenticated"
    events = _events(server, sub, "subscription.authenticated")
    if sub["start_at"] <= int(time.time()):
        events += charge(server, sub_id)
    return events


def _payment(server: FakeRazorpayServer, sub: dict[str, Any], status: str) -> dict[str, Any]:
    from billing.fake_razorpay import _rid

    plan = server.state.plans[sub["plan_id"]]
    amount = plan["item"]["amount"] * sub["quantity"]
    payment = {
        "id": _rid("pay"), "entity": "payment", "amount": amount, "currency": "INR", "status": status,
        "order_id": _rid("order"), "invoice_id": _rid("inv"), "international": False,
        "method": sub.get("_method", "card"),
        "amount_refunded": 0, "refund_status": None, "captured": status == "captured", "description": None,
        "card_id": None, "bank": None, "wallet": None, "email": "", "contact": "",
        "vpa": "clinic@okaxis" if sub.get("_method") == "upi" else None,
        "customer_id": sub["customer_id"], "token_id": _rid("token"), "notes": [], "fee": 0, "tax": 0,
        "error_code": None if status == "captured" else "BAD_REQUEST_ERROR",
        "error_description": None if status == "captured" else "Payment failed due to insufficient balance",
        "error_source": None, "error_step": None, "error_reason": None, "created_at": int(time.time()),
    }  # fmt: skip
    server.state.payments[payment["id"]] = {**payment, "_key": sub["_key"]}
    return payment


def charge(server: FakeRazorpayServer, sub_id: str) -> list[dict[str, Any]]:
    """A successful charge: the next cycle starts; activated (first time or from halted) and charged."""
    sub = server.state.subscriptions[sub_id]
    now = int(time.time())
    period = PERIODS[server.state.plans[sub["plan_id"]]["period"]]
    first = sub["status"] in ("authenticated", "created", "halted")
    sub.update(status="active", current_start=now, current_end=now + period, charge_at=now + period)
    sub["paid_count"] += 1
    sub["remaining_count"] = sub["total_count"] - sub["paid_count"]
    payment = _payment(server, sub, "captured")
    invoice = {
        "id": payment["invoice_id"], "entity": "invoice", "subscription_id": sub_id,
        "customer_id": sub["customer_id"], "status": "paid", "amount": payment["amount"],
        "amount_paid": payment["amount"], "payment_id": payment["id"], "paid_at": now, "created_at": now,
    }  # fmt: skip
    if sub["paid_count"] >= sub["total_count"]:
        sub.update(status="completed", ended_at=now)
    names = (["subscription.activated"] if first else []) + ["subscription.charged"]
    from billing.fake_razorpay import event

    account = server.state.accounts[sub["_key"]].account_id
    return [
        *_events(server, sub, *names, payment=payment),
        event("invoice.paid", account_id=account, invoice=invoice, payment=payment),
    ]


def fail_charge(server: FakeRazorpayServer, sub_id: str, *, halt: bool = False) -> list[dict[str, Any]]:
    """A renewal charge fails: payment.failed, then pending (Razorpay retries), or halted after the last retry."""
    from billing.fake_razorpay import event

    sub = server.state.subscriptions[sub_id]
    payment = _payment(server, sub, "failed")
    sub["status"] = "halted" if halt else "pending"
    account = server.state.accounts[sub["_key"]].account_id
    return [
        event("payment.failed", account_id=account, payment=payment),
        *_events(server, sub, f"subscription.{sub['status']}"),
    ]


# --- the demo (`make run`): the platform account and the demo clinic's trial subscription ----------

DEMO_PLATFORM_KEY_ID = "rzp_test_DocOSPlatform01"
DEMO_PLATFORM_KEY_SECRET = "docos-demo-platform-key-secret"
DEMO_PLATFORM_WEBHOOK_SECRET = "docos-demo-platform-webhook-secret"
DEMO_PLAN_ID = "plan_DocOSClinicMo01"
DEMO_CUSTOMER_ID = "cust_DocOSSunrise001"
DEMO_SUBSCRIPTION_ID = "sub_DocOSSunrise0001"
DEMO_SEATS = 3
DEMO_UNIT_PAISE = 149900
DEMO_TRIAL_DAYS = 14  # the demo subscription is on the plan's 14-day trial,
DEMO_TRIAL_DAYS_DONE = 4  # authorised 4 days ago: the first charge is 10 days away


def load_demo(server: FakeRazorpayServer) -> None:
    """The same plan, customer and trial subscription (authenticated, first charge at the trial's end)
    that clinics.demo_subscription records."""
    account = server.add_account(DEMO_PLATFORM_KEY_ID, DEMO_PLATFORM_KEY_SECRET)
    now = int(time.time())
    start = now - DEMO_TRIAL_DAYS_DONE * 86400
    trial_end = start + DEMO_TRIAL_DAYS * 86400
    server.state.plans[DEMO_PLAN_ID] = {
        "id": DEMO_PLAN_ID, "entity": "plan", "interval": 1, "period": "monthly",
        "item": {"id": "item_DocOSClinicMo01", "active": True, "name": "DocOS Clinic monthly",
                 "description": "DocOS Clinic monthly", "amount": DEMO_UNIT_PAISE, "unit_amount": DEMO_UNIT_PAISE,
                 "currency": "INR", "type": "plan"},
        "notes": {"docos_plan": "clinic-monthly"}, "created_at": start, "_key": account.key_id,
    }  # fmt: skip
    server.state.customers[DEMO_CUSTOMER_ID] = {
        "id": DEMO_CUSTOMER_ID, "entity": "customer", "name": "Sunrise Family Clinic",
        "email": "owner@sunrise.example.in", "contact": "", "gstin": "29AAGCS1234K1Z7",
        "notes": {"docos_clinic": "demo"}, "created_at": start, "_key": account.key_id,
    }  # fmt: skip
    server.state.subscriptions[DEMO_SUBSCRIPTION_ID] = {
        "id": DEMO_SUBSCRIPTION_ID, "entity": "subscription", "plan_id": DEMO_PLAN_ID,
        "customer_id": DEMO_CUSTOMER_ID, "status": "authenticated", "current_start": None,
        "current_end": None, "ended_at": None, "quantity": DEMO_SEATS, "notes": {},
        "charge_at": trial_end, "start_at": trial_end, "end_at": None, "auth_attempts": 1,
        "total_count": 120, "paid_count": 0, "customer_notify": True, "created_at": start, "expire_by": None,
        "short_url": f"{server.base_url}/s/DocOSSunrise0001", "has_scheduled_changes": False,
        "change_scheduled_at": None, "source": "api", "offer_id": None, "remaining_count": 120,
        "_key": account.key_id, "_method": "card",
    }  # fmt: skip


def checkout_page(server: FakeRazorpayServer, code: str) -> tuple[int, str]:
    sub = server.state.subscriptions.get("sub_" + code)
    if sub is None:
        return 404, "<p>No such subscription.</p>"
    if sub["status"] != "created":
        return 200, f"<p>This subscription is {sub['status']}.</p>"
    plan = server.state.plans[sub["plan_id"]]
    amount = plan["item"]["amount"] * sub["quantity"] / 100
    return 200, (
        f"<!doctype html><title>Razorpay checkout (fake)</title><h1>{plan['item']['name']}</h1>"
        f"<p>₹{amount:,.2f} every {plan['period'].removesuffix('ly')} for {sub['quantity']} seat(s)</p>"
        '<form method="post"><button type="submit">Authorise UPI Autopay</button></form>'
        "<p><small>The local fake of Razorpay: no money moves.</small></p>"
    )


def checkout(server: FakeRazorpayServer, code: str) -> tuple[int, str]:
    """The hosted checkout's "authorise": the mandate, then the events to DocOS's platform webhook."""
    from billing.fake_razorpay import deliver

    sub = server.state.subscriptions.get("sub_" + code)
    if sub is None or sub["status"] != "created":
        return 400, "<p>This subscription cannot be authorised.</p>"
    with server.state.lock:
        events = authenticate(server, sub["id"])
    sent = 0
    if server.platform_webhook_url and server.platform_webhook_secret:
        for item in events:
            sent += deliver(server.platform_webhook_url, item, server.platform_webhook_secret) == 200
    return 200, f"<p>Authorised. Webhooks delivered: {sent}</p>"
