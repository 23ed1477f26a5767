"""Documents, consent forms and certificates on the clinic's host (included from urls_clinical at "/")."""

from django.urls import URLPattern, URLResolver, path

from documents import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("patients/<uuid:patient_id>/documents", views.patient_documents, name="documents-patient-list"),
    path("patients/<uuid:patient_id>/documents/upload", views.document_upload, name="documents-upload"),
    path("documents/<uuid:document_id>/", views.document_detail, name="documents-detail"),
    path("documents/<uuid:document_id>/download", views.document_download, name="documents-download"),
    path("patients/<uuid:patient_id>/consents", views.patient_consents, name="consents-patient-list"),
    path("patients/<uuid:patient_id>/consents/new", views.consent_new, name="consents-new"),
    path("consents/<uuid:consent_id>/", views.consent_detail, name="consents-detail"),
    path("consents/<uuid:consent_id>/pdf", views.consent_pdf, name="consents-pdf"),
    path("consents/templates/", views.consent_template_list, name="consents-templates"),
    path("consents/templates/new", views.consent_template_new, name="consents-template-new"),
    path("consents/templates/<uuid:template_id>/edit", views.consent_template_edit, name="consents-template-edit"),
    path("patients/<uuid:patient_id>/certificates", views.patient_certificates, name="certificates-patient-list"),
    path("patients/<uuid:patient_id>/certificates/new", views.certificate_new, name="certificates-new"),
    path("certificates/<uuid:certificate_id>/", views.certificate_detail, name="certificates-detail"),
    path("certificates/<uuid:certificate_id>/pdf", views.certificate_pdf, name="certificates-pdf"),
    path("certificates/templates/", views.certificate_template_list, name="certificates-templates"),
    path("certificates/templates/new", views.certificate_template_new, name="certificates-template-new"),
    path(
        "certificates/templates/<uuid:template_id>/edit",
        views.certificate_template_edit,
        name="certificates-template-edit",
    ),
]
