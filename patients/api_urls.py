from django.urls import URLPattern, URLResolver, path

from patients import api, consent_api

urlpatterns: list[URLPattern | URLResolver] = [
    path("patients", api.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:id>", api.PatientDetailView.as_view(), name="api-patient-detail"),
    path("patients/<uuid:id>/consents", consent_api.PatientConsentsView.as_view(), name="api-patient-consents"),
]
