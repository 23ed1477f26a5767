"""Imaging on the clinic's host (included from docos.urls_tenant at "/")."""

from django.urls import URLPattern, URLResolver, path

from imaging import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("imaging/", views.study_list, name="imaging-studies"),
    path("patients/<uuid:patient_id>/imaging", views.patient_studies, name="imaging-patient-studies"),
    path("patients/<uuid:patient_id>/imaging/upload", views.upload_page, name="imaging-upload"),
    path("patients/<uuid:patient_id>/imaging/uploads", views.upload_start, name="imaging-upload-start"),
    path("imaging/uploads/<uuid:upload_id>/", views.upload_detail, name="imaging-upload-detail"),
    path("imaging/uploads/<uuid:upload_id>/chunk", views.upload_chunk, name="imaging-upload-chunk"),
    path("imaging/uploads/<uuid:upload_id>/received", views.upload_received, name="imaging-upload-received"),
    path("imaging/uploads/<uuid:upload_id>/submit", views.upload_submit, name="imaging-upload-submit"),
    path("imaging/uploads/<uuid:upload_id>/status", views.upload_status, name="imaging-upload-status"),
    path("imaging/studies/<uuid:study_id>/", views.study_viewer, name="imaging-study"),
    path("imaging/studies/<uuid:study_id>/manifest", views.study_manifest, name="imaging-study-manifest"),
    path("imaging/images/<uuid:instance_id>/frames/<int:frame>.png", views.instance_frame, name="imaging-frame"),
    path("imaging/images/<uuid:instance_id>/metadata", views.instance_metadata, name="imaging-metadata"),
]
