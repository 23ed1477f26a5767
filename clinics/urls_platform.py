"""The platform console, mounted at /platform/ in the public URLconf only (docos.urls_public)."""

from django.urls import URLPattern, path

from clinics import platform_views as views

urlpatterns: list[URLPattern] = [
    path("login/", views.login_view, name="platform-login"),
    path("login/two-factor/", views.login_two_factor, name="platform-login-two-factor"),
    path("logout/", views.logout_view, name="platform-logout"),
    path("", views.clinic_list, name="platform-clinics"),
    path("clinics/<str:slug>/", views.clinic_detail, name="platform-clinic"),
    path("invoices/<str:number>.pdf", views.invoice_pdf, name="platform-invoice-pdf"),
    path("plans/", views.plan_list, name="platform-plans"),
    path("failed-payments/", views.failed_payment_list, name="platform-failed-payments"),
]
