"""The clinic's own settings, mounted at /settings/ beside accounts.urls_console."""

from django.urls import URLPattern, path

from clinics import console_views as views

urlpatterns: list[URLPattern] = [
    path("profile/", views.profile, name="console_profile"),
    path("logo", views.logo, name="console_logo"),
    path("security/", views.security, name="console_security"),
]
