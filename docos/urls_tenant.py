"""URLs served on a clinic's host (<slug>.<base domain>). Every view declares its capability."""

from django.urls import include, path

from docos import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("accounts.urls_auth")),
    path("settings/", include("accounts.urls_console")),
    path("settings/", include("clinics.urls_console")),
    path("settings/", include("messaging.urls_console")),
    path("settings/", include("billing.urls_console")),
    path("settings/privacy/", include("privacy.urls")),
    path("patients/", include("patients.urls")),
    path("", include("clinical.urls")),
    path("", include("documents.urls")),
    path("appointments/", include("appointments.urls")),
    path("queue/", include("appointments.urls_queue")),
    path("inbox/", include("messaging.urls")),
    path("", include("billing.urls")),
    path("", include("imaging.urls")),
    path("", include("imaging.share_urls")),
    path("dicomweb/", include("imaging.dicomweb_urls")),
    path("api/v1/", include("docos.urls_api")),
]
