"""URLs on the bare base domain: public site, platform console, vendor webhooks, health checks (middleware)."""

from django.urls import include, path

from docos import views

urlpatterns = [
    path("", include("clinics.urls_public")),
    path("favicon.ico", views.favicon, name="favicon"),
    path("verify/", include("clinics.urls_verify")),
    path("platform/", include("clinics.urls_platform")),
    path("dicom-viewer/", include("imaging.urls_local_viewer")),
    path("webhooks/", include("messaging.urls_webhooks")),
    path("webhooks/", include("billing.urls_webhooks")),
]
