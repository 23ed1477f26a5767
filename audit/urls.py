"""The audit log, mounted at /settings/audit/ on a clinic's host."""

from django.urls import URLPattern, URLResolver, path

from audit import views as audit_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", audit_views.audit_list, name="console_audit"),
    path("export.csv", audit_views.audit_export, name="console_audit_export"),
    path("retention/", audit_views.retention_log, name="console_retention"),
    path("retention/dry-run/", audit_views.retention_dry_run, name="console_retention_dry_run"),
]
