"""System check: Razorpay switched on without a usable API base URL (each clinic's keys are its own,
entered in Settings -> Razorpay; a clinic without them simply cannot make payment links)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security)
def check_razorpay_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "RAZORPAY_ENABLED", False):
        return []
    errors: list[CheckMessage] = []
    base = str(getattr(settings, "RAZORPAY_BASE_URL", "") or "").strip()
    if not base.startswith(("https://", "http://")):
        errors.append(
            Error(
                "RAZORPAY_ENABLED is on but RAZORPAY_BASE_URL is not an http(s) URL.",
                hint="Set RAZORPAY_BASE_URL=https://api.razorpay.com (or the local fake's URL), "
                "or set RAZORPAY_ENABLED=false.",
                id="billing.E001",
            )
        )
    if float(getattr(settings, "RAZORPAY_TIMEOUT_SECONDS", 0) or 0) <= 0:
        errors.append(Error("RAZORPAY_TIMEOUT_SECONDS must be above zero.", hint="e.g. 15", id="billing.E002"))
    return errors
