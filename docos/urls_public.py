"""URLs on the bare base domain: public site, vendor webhooks (later), health checks (middleware)."""

from django.urls import include, path

urlpatterns = [
    path("", include("clinics.urls_public")),
    path("verify/", include("clinics.urls_verify")),
]
