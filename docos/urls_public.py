"""URLs on the bare base domain: public site, vendor webhooks (later), health checks (middleware)."""

from django.urls import include, path

from clinics import public_views
from docos import views

urlpatterns = [
    path("", public_views.landing, name="public-landing"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("verify/", include("clinics.urls_verify")),
]
