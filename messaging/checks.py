"""System check: WhatsApp switched on without the platform's Meta app credentials."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security)
def check_whatsapp_credentials(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not getattr(settings, "WHATSAPP_ENABLED", False):
        return []
    missing = [
        name
        for name in (
            "WHATSAPP_APP_SECRET",
            "WHATSAPP_VERIFY_TOKEN",
            "WHATSAPP_GRAPH_BASE_URL",
            "WHATSAPP_GRAPH_VERSION",
        )
        if not str(getattr(settings, name, "") or "").strip()
    ]
    if missing:
        return [
            Error(
                f"WHATSAPP_ENABLED is on but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.",
                hint="Set them from the Meta app (App settings -> Basic -> App secret; the webhook's verify token), "
                "or set WHATSAPP_ENABLED=false.",
                id="messaging.E001",
            )
        ]
    return []
