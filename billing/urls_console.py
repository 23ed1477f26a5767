"""Billing's settings pages, mounted at /settings/ beside accounts.urls_console."""

from django.urls import URLPattern, path

from billing import console_views

urlpatterns: list[URLPattern] = [
    path("razorpay/", console_views.razorpay_settings, name="console_razorpay"),
]
