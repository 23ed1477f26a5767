import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tenants.utils import get_public_schema_name

from docos import health

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before tenant resolution, on any host, without touching sessions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            checks = health.readiness()
            ok = all(checks.values())
            return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoStoreMiddleware:
    """Clinic pages and API answers to a signed-in user may show patient data: browsers, proxies and
    the back/forward cache must not keep a copy (a shared front-desk PC). Every response of a clinic
    host to an authenticated user (session or API token) gets `Cache-Control: no-store` and
    `Pragma: no-cache`, unless the view chose its own Cache-Control. Static files and the public
    site are left alone. Sits after AuthenticationMiddleware (DRF puts a token's user on the request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" in response.headers or request.path.startswith(str(settings.STATIC_URL)):
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_proxy_networks() -> tuple[IPNetwork, ...]:
    """DOCOS_TRUSTED_PROXIES parsed (IPs or CIDRs; malformed entries are reported by docos.checks)."""
    try:
        return _networks(tuple(getattr(settings, "DOCOS_TRUSTED_PROXIES", ()) or ()))
    except ValueError:
        return ()


def _parse_ip(raw: str) -> IPAddress | None:
    text = raw.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.9:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_client_ip(remote_addr: str, forwarded_for: str, trusted: tuple[IPNetwork, ...]) -> str | None:
    """The address of the client as seen by the nearest trusted proxy, or None to keep REMOTE_ADDR.

    Only when the direct peer (REMOTE_ADDR) is a trusted proxy is X-Forwarded-For read, from the right:
    trusted proxies are skipped and the first untrusted entry is the client. Everything left of it
    was written by the client and may be forged, so it is never used."""
    peer = _parse_ip(remote_addr)
    if peer is None or not trusted or not any(peer in net for net in trusted):
        return None
    client: IPAddress | None = None
    for entry in reversed([part for part in forwarded_for.split(",") if part.strip()]):
        address = _parse_ip(entry)
        if address is None:
            break  # garbage from the client or a broken hop: keep the last address we could trust
        client = address
        if not any(address in net for net in trusted):
            break
    return str(client) if client is not None else None


class ClientIPMiddleware:
    """Behind the TLS proxy every request comes from the proxy; recover the real client address.

    Sets request.META["REMOTE_ADDR"] to the right-most untrusted X-Forwarded-For entry when the
    direct peer is in DOCOS_TRUSTED_PROXIES (empty: trust nobody, REMOTE_ADDR stays as it is). The
    proxy's own address is kept in META["DOCOS_PROXY_ADDR"]. Must run before anything reads the IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        remote = str(request.META.get("REMOTE_ADDR") or "")
        client = forwarded_client_ip(
            remote, str(request.META.get("HTTP_X_FORWARDED_FOR") or ""), trusted_proxy_networks()
        )
        if client is not None:
            request.META["DOCOS_PROXY_ADDR"] = remote
            request.META["REMOTE_ADDR"] = client
        return self.get_response(request)
