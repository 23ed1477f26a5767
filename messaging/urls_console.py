"""Messaging's settings pages, mounted at /settings/ beside accounts.urls_console."""

from django.urls import URLPattern, path

from messaging import console_views as views

urlpatterns: list[URLPattern] = [
    path("whatsapp/", views.whatsapp_settings, name="console_whatsapp"),
    path("whatsapp/test/", views.whatsapp_test, name="console_whatsapp_test"),
]
