from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from clinics.models import Clinic

ALWAYS_ALLOWED = ("/static/", "/logout")


def public_tenant() -> Clinic:
    """The tenant object for the bare base domain: the public schema, with no row of its own."""
    return Clinic(schema_name=get_public_schema_name(), slug="", name="DocOS", status=Clinic.Status.ACTIVE)


class ClinicTenantMiddleware(TenantMainMiddleware):
    """Routes `<slug>.<DOCOS_BASE_DOMAIN>` to that clinic's schema (via its Domain row) and the bare
    base domain to the public schema (public site, sign-up, vendor webhooks). Any other host is a 404.

    The base domain comes from settings at request time, so no Domain row has to follow it
    between environments."""

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        return str(TenantMainMiddleware.hostname_from_request(request)).lower()

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        if hostname == str(settings.DOCOS_BASE_DOMAIN).lower():
            return public_tenant()
        return super().get_tenant(domain_model, hostname)


class ClinicStatusMiddleware:
    """A suspended or closing clinic keeps its data but its staff cannot use it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            isinstance(tenant, Clinic)
            and tenant.schema_name != get_public_schema_name()
            and tenant.is_suspended
            and not request.path.startswith(ALWAYS_ALLOWED)
        ):
            message = f"This clinic's DocOS account is {tenant.get_status_display().lower()}."
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"error": {"code": "clinic_suspended", "message": message, "fields": {}}},
                    status=403,
                )
            return render(request, "clinics/suspended.html", {"clinic": tenant, "message": message}, status=403)
        return self.get_response(request)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Open whatever the subscription's access: signing in and out, static files, and the page to pay.
SUBSCRIPTION_OPEN = (
    "/static/",
    "/login",
    "/logout",
    "/session/",
    "/password-reset",
    "/set-password",
    "/favicon.ico",
    "/settings/subscription/",
)


class SubscriptionAccessMiddleware:
    """DocOS dunning on the clinic site (clinics.subscriptions): while the grace period lasts nothing
    changes; a read-only clinic's staff can view and export but not create or change (unsafe methods
    get a 403 page saying why); a suspended clinic shows only its subscription page. Signing in and
    out and the subscription page always work, so the owner can pay, which restores access at once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.utils import timezone

        from clinics.models import Subscription
        from clinics.subscriptions import access_at

        tenant = getattr(request, "tenant", None)
        if (
            not isinstance(tenant, Clinic)
            or tenant.schema_name == get_public_schema_name()
            or request.path.startswith(SUBSCRIPTION_OPEN)
        ):
            return self.get_response(request)
        sub = Subscription.objects.filter(clinic_id=tenant.pk).first()
        if sub is None:
            return self.get_response(request)
        access = access_at(sub, timezone.now())
        blocked = access == Subscription.Access.SUSPENDED or (
            access == Subscription.Access.READ_ONLY and request.method not in SAFE_METHODS
        )
        if not blocked:
            return self.get_response(request)
        if access == Subscription.Access.SUSPENDED:
            message = (
                "This clinic's DocOS subscription is suspended for non-payment. Only the subscription page is open."
            )
        else:
            message = (
                "This clinic's DocOS subscription is unpaid, so DocOS is read-only: you can view and export "
                "records but not create or change them."
            )
        if request.path.startswith("/api/"):
            code = "subscription_suspended" if access == Subscription.Access.SUSPENDED else "subscription_read_only"
            return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=403)
        return render(
            request,
            "clinics/subscription_blocked.html",
            {"clinic": tenant, "message": message, "access": access},
            status=403,
        )
