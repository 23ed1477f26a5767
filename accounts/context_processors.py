from typing import Any

from django.http import HttpRequest

from accounts.middleware import idle_timeout_seconds


def capabilities(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated and hasattr(user, "capabilities")
    return {
        "caps": user.capabilities if user is not None and signed_in else frozenset(),
        "clinic": getattr(request, "tenant", None),
        "idle_timeout_seconds": idle_timeout_seconds(request) if signed_in else None,
    }
