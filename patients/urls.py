"""Registry pages, mounted at /patients/."""

from django.urls import URLPattern, URLResolver, path

from patients import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.patient_list, name="patients-list"),
    path("new", views.patient_register, name="patients-new"),
    path("open-at-branch", views.patient_open_at_branch, name="patients-open-at-branch"),
    path("import/", views.import_list, name="patients-import"),
    path("import/<uuid:import_id>/", views.import_detail, name="patients-import-detail"),
    path("import/<uuid:import_id>/start", views.import_start, name="patients-import-start"),
    path("import/<uuid:import_id>/decisions", views.import_decide, name="patients-import-decide"),
    path("import/<uuid:import_id>/status", views.import_status, name="patients-import-status"),
    path("import/<uuid:import_id>/errors.csv", views.import_errors, name="patients-import-errors"),
    path("<uuid:patient_id>/", views.patient_detail, name="patients-detail"),
    path("<uuid:patient_id>/edit", views.patient_edit, name="patients-edit"),
    path("<uuid:patient_id>/consent", views.patient_consent, name="patients-consent"),
    path("<uuid:patient_id>/consent-log/", views.patient_consents, name="patients-consent-log"),
    path("<uuid:patient_id>/consent-log/record", views.patient_consent_record, name="patients-consent-record"),
    path("<uuid:patient_id>/merge", views.patient_merge, name="patients-merge"),
]
