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
