"""The tenant URLconf plus a view that fails while handling patient data (for the PHI-leak tests)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from docos.permissions import login_only


@login_only
def boom(request: HttpRequest) -> HttpResponse:
    patient_name = request.POST.get("given_name", "")
    phone = request.POST.get("phone", "")
    # Like a real bug: the exception message quotes the data being processed.
    raise ValueError(f"could not register {patient_name} ({phone}) for {request.user.email}")


urlpatterns = [
    path("__boom__/", boom),
    path("", include("docos.urls_tenant")),
]
