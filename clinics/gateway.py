"""The seam between clinics (subscriptions, public schema) and the payment vendor.

clinics sits below billing in the layers, so it never imports `billing.razorpay`. billing registers
its implementation of `SubscriptionGateway` at start-up (`BillingConfig.ready`), the architecture's
pattern for reaching up. Every call raises `docos.webhooks.VendorError` on failure. Amounts in
rupees are converted to paise by the implementation; timestamps are Unix seconds as Razorpay has them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from docos.webhooks import VendorError

# The webhook vendor name of the platform's own Razorpay account (/webhooks/razorpay/platform/).
PLATFORM_VENDOR = "razorpay_platform"


class SubscriptionGateway(Protocol):
    def plan_create(self, *, name: str, period: str, amount: Decimal, notes: dict[str, str]) -> dict[str, Any]: ...

    def customer_create(self, *, name: str, email: str, gstin: str, notes: dict[str, str]) -> dict[str, Any]: ...

    def subscription_create(
        self,
        *,
        plan_id: str,
        customer_id: str,
        quantity: int,
        total_count: int,
        start_at: int | None,
        notes: dict[str, str],
    ) -> dict[str, Any]: ...

    def subscription_fetch(self, subscription_id: str) -> dict[str, Any]: ...

    def subscription_cancel(self, subscription_id: str, *, at_cycle_end: bool) -> dict[str, Any]: ...

    def subscription_update_quantity(self, subscription_id: str, *, quantity: int) -> dict[str, Any]: ...


_gateway: SubscriptionGateway | None = None


def register_gateway(gateway: SubscriptionGateway) -> None:
    global _gateway
    _gateway = gateway


def gateway() -> SubscriptionGateway:
    if _gateway is None:
        raise VendorError(permanent=True, code="not_configured", message="No subscription gateway is registered.")
    return _gateway
