from django.urls import URLPattern, path

from clinics import public_views

urlpatterns: list[URLPattern] = [path("", public_views.landing, name="public-landing")]
