"""URLs on the bare base domain: public site, vendor webhooks (later), health checks (middleware)."""

from django.urls import path

from clinics import public_views

urlpatterns = [
    path("", public_views.landing, name="public-landing"),
]
