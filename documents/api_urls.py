"""Documents, consents and certificates API routes, mounted at /api/v1/ (via clinical.api_urls)."""

from django.urls import URLPattern, URLResolver, path

from documents import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("patients/<uuid:id>/documents", api.PatientDocumentsView.as_view(), name="api-patient-documents"),
    path("documents/<uuid:id>", api.DocumentDetailView.as_view(), name="api-document-detail"),
    path("documents/<uuid:id>/download", api.DocumentDownloadView.as_view(), name="api-document-download"),
    path("consent-templates", api.ConsentTemplateListView.as_view(), name="api-consent-templates"),
    path("consents", api.ConsentListView.as_view(), name="api-consents"),
    path("consents/<uuid:id>", api.ConsentDetailView.as_view(), name="api-consent-detail"),
    path("consents/<uuid:id>/pdf", api.ConsentPdfView.as_view(), name="api-consent-pdf"),
    path("certificate-templates", api.CertificateTemplateListView.as_view(), name="api-certificate-templates"),
    path("certificates", api.CertificateListView.as_view(), name="api-certificates"),
    path("certificates/<uuid:id>", api.CertificateDetailView.as_view(), name="api-certificate-detail"),
    path("certificates/<uuid:id>/pdf", api.CertificatePdfView.as_view(), name="api-certificate-pdf"),
]
