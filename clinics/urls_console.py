"""The clinic's own settings, mounted at /settings/ beside accounts.urls_console."""

from django.urls import URLPattern, path

from clinics import console_views as views
from clinics import offboarding_views

urlpatterns: list[URLPattern] = [
    path("profile/", views.profile, name="console_profile"),
    path("logo", views.logo, name="console_logo"),
    path("security/", views.security, name="console_security"),
    path("subscription/", views.subscription, name="console_subscription"),
    path("subscription/start/", views.subscription_start_view, name="console_subscription_start"),
    path("subscription/seats/", views.subscription_seats_view, name="console_subscription_seats"),
    path("subscription/cancel/", views.subscription_cancel_view, name="console_subscription_cancel"),
    path(
        "subscription/invoices/<str:invoice_number>.pdf",
        views.subscription_invoice_pdf,
        name="console_subscription_invoice",
    ),
    path("subscription/refresh/", views.subscription_refresh_view, name="console_subscription_refresh"),
    path("offboarding/", offboarding_views.offboarding, name="console_offboarding"),
    path("offboarding/export.zip", offboarding_views.offboarding_archive_download, name="console_offboarding_download"),
]
