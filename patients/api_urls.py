from django.urls import URLPattern, URLResolver, path

from patients import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("patients", api.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:id>", api.PatientDetailView.as_view(), name="api-patient-detail"),
]
