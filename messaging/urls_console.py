"""Messaging's settings pages, mounted at /settings/ beside accounts.urls_console."""

from django.urls import URLPattern, path

from messaging import console_views as views
from messaging import template_views

urlpatterns: list[URLPattern] = [
    path("whatsapp/", views.whatsapp_settings, name="console_whatsapp"),
    path("whatsapp/test/", views.whatsapp_test, name="console_whatsapp_test"),
    path("whatsapp/templates/", template_views.template_list, name="console_whatsapp_templates"),
    path("whatsapp/templates/new/", template_views.template_edit, name="console_whatsapp_template_new"),
    path("whatsapp/templates/sync/", template_views.templates_sync, name="console_whatsapp_templates_sync"),
    path("whatsapp/templates/<uuid:template_id>/", template_views.template_edit, name="console_whatsapp_template"),
    path(
        "whatsapp/templates/<uuid:template_id>/submit/",
        template_views.template_submit,
        name="console_whatsapp_template_submit",
    ),
]
