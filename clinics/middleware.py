from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from clinics.models import Clinic

ALWAYS_ALLOWED = ("/static/", "/logout")


class ClinicStatusMiddleware:
    """A suspended or closing clinic keeps its data but its staff cannot use it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if isinstance(tenant, Clinic) and tenant.schema_name != "public" and tenant.is_suspended:
            if not request.path.startswith(ALWAYS_ALLOWED):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {
                            "error": {
                                "code": "clinic_suspended",
                                "message": f"This clinic's DocOS account is {tenant.get_status_display().lower()}.",
                                "fields": {},
                            }
                        },
                        status=403,
                    )
                return render(request, "clinics/suspended.html", {"clinic": tenant}, status=403)
        return self.get_response(request)
