"""Vendor webhooks of messaging, mounted at /webhooks/ on the public (base) domain."""

from django.urls import URLPattern, path

from messaging import webhook_views

urlpatterns: list[URLPattern] = [path("whatsapp/", webhook_views.whatsapp_webhook, name="webhook-whatsapp")]
