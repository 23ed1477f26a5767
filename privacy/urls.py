"""The patient-rights workbench, mounted at /settings/privacy/ on a clinic's host."""

from django.urls import URLPattern, URLResolver, path

from privacy import breach_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.request_list, name="privacy_requests"),
    path("new/", views.request_new, name="privacy_request_new"),
    path("settings/", views.privacy_settings, name="privacy_settings"),
    path("<uuid:request_id>/", views.request_detail, name="privacy_request_detail"),
    path("<uuid:request_id>/acknowledge/", views.request_acknowledge, name="privacy_request_acknowledge"),
    path("<uuid:request_id>/close/", views.request_close, name="privacy_request_close"),
    path("<uuid:request_id>/erase/", views.request_erase, name="privacy_request_erase"),
    path("<uuid:request_id>/correct/", views.request_correct, name="privacy_request_correct"),
    path("<uuid:request_id>/legal-hold/", views.legal_hold, name="privacy_legal_hold"),
    path("<uuid:request_id>/export/", views.export_start, name="privacy_export_start"),
    path("exports/<uuid:export_id>/progress/", views.export_progress, name="privacy_export_progress"),
    path("exports/<uuid:export_id>/download/", views.export_download, name="privacy_export_download"),
    # the breach register
    path("breaches/", breach_views.breach_list, name="privacy_breaches"),
    path("breaches/new/", breach_views.breach_new, name="privacy_breach_new"),
    path("breaches/<uuid:incident_id>/", breach_views.breach_detail, name="privacy_breach_detail"),
    path("breaches/<uuid:incident_id>/edit/", breach_views.breach_edit, name="privacy_breach_edit"),
    path("breaches/<uuid:incident_id>/status/", breach_views.breach_status, name="privacy_breach_status"),
    path("breaches/<uuid:incident_id>/report/", breach_views.breach_report, name="privacy_breach_report"),
    path("breaches/<uuid:incident_id>/affected/compute/", breach_views.breach_compute, name="privacy_breach_compute"),
    path("breaches/<uuid:incident_id>/affected/add/", breach_views.breach_add_patient, name="privacy_breach_add"),
    path(
        "breaches/<uuid:incident_id>/affected/<uuid:patient_id>/remove/",
        breach_views.breach_remove_patient,
        name="privacy_breach_remove",
    ),
    path("breaches/<uuid:incident_id>/notice/", breach_views.breach_notice, name="privacy_breach_notice"),
    path("breaches/<uuid:incident_id>/notice/send/", breach_views.breach_notices_send, name="privacy_breach_send"),
    path(
        "breaches/<uuid:incident_id>/notice/progress/",
        breach_views.breach_notices_progress,
        name="privacy_breach_progress",
    ),
    path("breaches/<uuid:incident_id>/notice/letters/", breach_views.breach_letters, name="privacy_breach_letters"),
]
