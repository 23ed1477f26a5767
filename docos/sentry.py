"""Error reporting to Sentry without PHI.

Sentry starts only when SENTRY_DSN is set (`init_from_settings`, called from DocosConfig.ready).
Nothing about the request (body, cookies, headers, query string), the user, local variables or
log/breadcrumb data leaves the process. Exception messages are replaced too: they routinely quote
values (a database error's DETAIL names the duplicate phone number, `int("Ramesh")` names the
patient). What reaches Sentry is the exception type, the stack (file, function, line, code) and the
URL pattern of the view, which is enough to find the bug.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import sentry_sdk
from django.conf import settings

REDACTED = "[redacted]"
# Contexts that describe the machine and the trace, never the request or the people in it.
SAFE_CONTEXTS = frozenset({"trace", "runtime", "os", "device", "app", "cloud_resource"})
_FRAME_KEYS_DROPPED = ("vars",)


def _scrub_stacktrace(stacktrace: dict[str, Any] | None) -> None:
    if not stacktrace:
        return
    for frame in stacktrace.get("frames") or ():
        for key in _FRAME_KEYS_DROPPED:
            frame.pop(key, None)


def _scrub_exception(exc: dict[str, Any]) -> None:
    if exc.get("value"):
        exc["value"] = REDACTED
    _scrub_stacktrace(exc.get("stacktrace"))
    mechanism = exc.get("mechanism")
    if isinstance(mechanism, dict):
        mechanism.pop("data", None)
        mechanism.pop("meta", None)


def scrub_breadcrumb(crumb: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    crumb.pop("data", None)
    return crumb


def scrub_event(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """`before_send` and `before_send_transaction`: strip everything that may carry PHI or identity."""
    for key in ("request", "user", "extra"):
        event.pop(key, None)
    for exc in (event.get("exception") or {}).get("values") or ():
        _scrub_exception(exc)
    for thread in (event.get("threads") or {}).get("values") or ():
        _scrub_stacktrace(thread.get("stacktrace"))
    _scrub_stacktrace(event.get("stacktrace"))
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        # Keep the message template written in our code; drop the arguments formatted into it.
        event["logentry"] = {"message": logentry.get("message", "")}
    breadcrumbs = event.get("breadcrumbs")
    crumbs = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else breadcrumbs
    for crumb in crumbs or ():
        scrub_breadcrumb(crumb)
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        event["contexts"] = {name: value for name, value in contexts.items() if name in SAFE_CONTEXTS}
    for span in event.get("spans") or ():
        span.pop("data", None)
        span.pop("tags", None)
    return event


def init_sentry(
    dsn: str,
    *,
    environment: str | None = None,
    release: str | None = None,
    traces_sample_rate: float = 0.0,
    transport: Any = None,
) -> None:
    """Start the Sentry client with PHI-free defaults. `transport` is for tests."""
    with warnings.catch_warnings():
        # Newer SDKs deprecate send_default_pii in favour of `data_collection`; we keep the explicit
        # False because it also keeps the SDK's own EventScrubber on (data_collection turns it off).
        warnings.filterwarnings(
            "ignore", message="The send_default_pii option is deprecated", category=DeprecationWarning
        )
        _init(dsn, environment, release, traces_sample_rate, transport)


def _init(dsn: str, environment: str | None, release: str | None, traces_sample_rate: float, transport: Any) -> None:
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        transport=transport,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
        integrations=[
            DjangoIntegration(transaction_style="url"),
            CeleryIntegration(),
            RedisIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )


def init_from_settings() -> bool:
    dsn = getattr(settings, "SENTRY_DSN", "")
    if not dsn:
        return False
    init_sentry(
        dsn,
        environment=getattr(settings, "SENTRY_ENVIRONMENT", None),
        release=getattr(settings, "SENTRY_RELEASE", None),
        traces_sample_rate=float(getattr(settings, "SENTRY_TRACES_SAMPLE_RATE", 0.0)),
    )
    return True
