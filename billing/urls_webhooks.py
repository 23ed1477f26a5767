"""Vendor webhooks of billing, mounted at /webhooks/ on the public (base) domain."""

from django.urls import URLPattern, path

from billing import webhook_views

urlpatterns: list[URLPattern] = [
    path("razorpay/platform/", webhook_views.razorpay_platform_webhook, name="webhook-razorpay-platform"),
    path("razorpay/<str:route_key>/", webhook_views.razorpay_webhook, name="webhook-razorpay"),
]
