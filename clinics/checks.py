"""System checks: DocOS subscriptions (the platform's own Razorpay account, clinics.subscriptions)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

PLATFORM_SETTINGS = ("RAZORPAY_PLATFORM_KEY_ID", "RAZORPAY_PLATFORM_KEY_SECRET", "RAZORPAY_PLATFORM_WEBHOOK_SECRET")


@register(Tags.security)
def check_subscription_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """All three platform credentials or none (none: clinics cannot subscribe, nothing else breaks);
    dunning periods of at least a day."""
    errors: list[CheckMessage] = []
    given = [name for name in PLATFORM_SETTINGS if str(getattr(settings, name, "") or "").strip()]
    if given and len(given) != len(PLATFORM_SETTINGS):
        missing = ", ".join(name for name in PLATFORM_SETTINGS if name not in given)
        errors.append(
            Error(
                f"DocOS subscriptions are half configured: {missing} not set.",
                hint="Set the platform Razorpay account's key id, key secret and webhook secret together.",
                id="clinics.E001",
            )
        )
    for name in ("SUBSCRIPTION_GRACE_DAYS", "SUBSCRIPTION_READ_ONLY_DAYS"):
        if int(getattr(settings, name, 0) or 0) < 1:
            errors.append(Error(f"{name} must be at least 1 (days).", hint="e.g. 7", id="clinics.E002"))
    return errors
