"""Clinical pages on the clinic's host (mounted at "/"): visits, addenda, prescriptions, formulary, ICD-10."""

from django.urls import URLPattern, URLResolver, path

from clinical import allergy_views, consultation_views, template_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("visits/", views.visit_list, name="clinical-visit-list"),
    path("visits/follow-ups", views.follow_up_list, name="clinical-follow-ups"),
    path("visits/<uuid:visit_id>/", views.visit_detail, name="clinical-visit-detail"),
    path("visits/<uuid:visit_id>/edit", views.visit_edit, name="clinical-visit-edit"),
    path("visits/<uuid:visit_id>/sign", views.visit_sign, name="clinical-visit-sign"),
    path("visits/<uuid:visit_id>/addenda", views.visit_addendum, name="clinical-visit-addendum"),
    path("patients/<uuid:patient_id>/visits", views.visit_list, name="clinical-patient-visits"),
    path("patients/<uuid:patient_id>/visits/new", views.visit_new, name="clinical-visit-new"),
    path("prescriptions/", views.prescription_list, name="clinical-prescription-list"),
    path("prescriptions/<uuid:prescription_id>/", views.prescription_detail, name="clinical-prescription-detail"),
    path("prescriptions/<uuid:prescription_id>/edit", views.prescription_edit, name="clinical-prescription-edit"),
    path("prescriptions/<uuid:prescription_id>/sign", views.prescription_sign, name="clinical-prescription-sign"),
    path("prescriptions/<uuid:prescription_id>/revise", views.prescription_revise, name="clinical-prescription-revise"),
    path("prescriptions/<uuid:prescription_id>/pdf", views.prescription_pdf, name="clinical-prescription-pdf"),
    path("patients/<uuid:patient_id>/prescriptions", views.prescription_list, name="clinical-patient-prescriptions"),
    path("patients/<uuid:patient_id>/prescriptions/new", views.prescription_new, name="clinical-prescription-new"),
    path("formulary/search", views.formulary_search, name="clinical-formulary-search"),
    path("patients/<uuid:patient_id>/allergies", allergy_views.allergy_add, name="clinical-allergy-add"),
    path("allergies/<uuid:allergy_id>/resolve", allergy_views.allergy_resolve, name="clinical-allergy-resolve"),
    path(
        "prescriptions/<uuid:prescription_id>/save-as-template",
        template_views.template_save,
        name="clinical-prescription-save-template",
    ),
    path("prescription-templates/", template_views.template_list, name="clinical-template-list"),
    path(
        "prescription-templates/<uuid:template_id>/delete",
        template_views.template_delete,
        name="clinical-template-delete",
    ),
    path("favourite-medicines/", template_views.favourite_list, name="clinical-favourite-list"),
    path("favourite-medicines/add", template_views.favourite_add, name="clinical-favourite-add"),
    path(
        "favourite-medicines/<uuid:favourite_id>/delete",
        template_views.favourite_delete,
        name="clinical-favourite-delete",
    ),
    path("consult/<uuid:patient_id>", consultation_views.consultation, name="clinical-consultation"),
    path("icd10/", views.icd10_lookup, name="clinical-icd10-lookup"),
    path("icd10/search", views.icd10_search, name="clinical-icd10-search"),
]
