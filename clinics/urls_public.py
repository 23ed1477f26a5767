from django.urls import URLPattern, path

from clinics import public_views

urlpatterns: list[URLPattern] = [
    path("", public_views.landing, name="public-landing"),
    # DocOS's own privacy pages (DPDP Act 2023): read from the code's retention settings
    path("privacy/", public_views.privacy_policy, name="public-privacy"),
    path("privacy/subprocessors/", public_views.subprocessors, name="public-subprocessors"),
    path("privacy/deletion/", public_views.data_deletion, name="public-deletion"),
    path("security/", public_views.security, name="public-security"),
    path(".well-known/security.txt", public_views.security_txt, name="public-security-txt"),
]
