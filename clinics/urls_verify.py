"""/verify/ on the public (base) domain: public checks of signed documents' codes and copies."""

from django.urls import URLPattern, URLResolver, path

from clinics import verify_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", verify_views.verify_index, name="verify-index"),
    path("<str:code>", verify_views.verify_document, name="verify-document"),
]
