"""Clinical API routes, mounted at /api/v1/ (see docos/urls_api.py)."""

from django.urls import URLPattern, URLResolver, path

from clinical import api, api_favourites, api_safety

urlpatterns: list[URLPattern | URLResolver] = [
    path("patients/<uuid:id>/visits", api.PatientVisitsView.as_view(), name="api-patient-visits"),
    path("visits/<uuid:id>", api.VisitDetailView.as_view(), name="api-visit-detail"),
    path("visits/<uuid:id>/sign", api.VisitSignView.as_view(), name="api-visit-sign"),
    path("visits/<uuid:id>/addenda", api.VisitAddendaView.as_view(), name="api-visit-addenda"),
    path("prescriptions", api.PrescriptionListView.as_view(), name="api-prescriptions"),
    path("prescriptions/<uuid:id>", api.PrescriptionDetailView.as_view(), name="api-prescription-detail"),
    path("prescriptions/<uuid:id>/sign", api.PrescriptionSignView.as_view(), name="api-prescription-sign"),
    path("prescriptions/<uuid:id>/revise", api.PrescriptionReviseView.as_view(), name="api-prescription-revise"),
    path("prescriptions/<uuid:id>/pdf", api.PrescriptionPdfView.as_view(), name="api-prescription-pdf"),
    path("prescriptions/<uuid:id>/safety", api_safety.PrescriptionSafetyView.as_view(), name="api-prescription-safety"),
    path("patients/<uuid:id>/allergies", api_safety.PatientAllergiesView.as_view(), name="api-patient-allergies"),
    path("allergies/<uuid:id>/resolve", api_safety.AllergyResolveView.as_view(), name="api-allergy-resolve"),
    path("medicines", api.MedicineSearchView.as_view(), name="api-medicines"),
    path("medicines/favourites", api_favourites.FavouriteListView.as_view(), name="api-medicine-favourites"),
    path(
        "medicines/favourites/<uuid:id>",
        api_favourites.FavouriteDetailView.as_view(),
        name="api-medicine-favourite-detail",
    ),
    path("prescription-templates", api_favourites.TemplateListView.as_view(), name="api-prescription-templates"),
    path(
        "prescription-templates/<uuid:id>",
        api_favourites.TemplateDetailView.as_view(),
        name="api-prescription-template-detail",
    ),
    path(
        "patients/<uuid:id>/repeat-prescription",
        api_favourites.PatientRepeatPrescriptionView.as_view(),
        name="api-patient-repeat-prescription",
    ),
    path("icd10", api.Icd10SearchView.as_view(), name="api-icd10"),
]
