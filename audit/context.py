"""Where an audited action came from, handed from the HTTP layer to the services (which never see
the request): the client's address, its user agent and the request's id. The actor is passed to
each service on its own (`actor=`), as every service needs it for its permission checks too."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"


def client_ip(request: Any) -> str | None:
    """The client's address. docos.middleware.ClientIPMiddleware has already replaced REMOTE_ADDR
    with the right-most untrusted X-Forwarded-For entry when the peer is a trusted proxy (gunicorn's
    --forwarded-allow-ips does not do this: it only trusts the scheme headers)."""
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])  # PostgreSQL's inet has no IPv6 zone ids
    except ValueError:
        return None
    return str(address)


def request_id(request: Any) -> str:
    """The id of this request: the proxy's X-Request-ID when it sent a sane one, else a new one
    (kept on the request, so every audit row of one request shares it)."""
    cached = getattr(request, "_docos_request_id", None)
    if cached:
        return str(cached)
    given = str(request.META.get(REQUEST_ID_HEADER, ""))[:64]
    value = given if given and all(ch.isalnum() or ch in "-_." for ch in given) else uuid.uuid4().hex
    request._docos_request_id = value
    return value


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request: Any) -> AuditContext:
        if request is None:
            return cls()
        agent = str(request.META.get("HTTP_USER_AGENT", "")).replace("\x00", "")[:300]
        return cls(ip=client_ip(request), user_agent=agent, request_id=request_id(request))


SYSTEM = AuditContext()  # tasks, commands and webhooks with no HTTP client


def audit_context(request: Any) -> AuditContext:
    """For views: the context of this request, to hand to a service."""
    return AuditContext.from_request(request)
