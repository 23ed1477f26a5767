from django.urls import URLPattern, URLResolver, path

from accounts import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("me", api.MeView.as_view(), name="api-me"),
    path("locations", api.LocationListView.as_view(), name="api-locations"),
    path("staff", api.StaffListView.as_view(), name="api-staff-list"),
    path("staff/<uuid:id>", api.StaffDetailView.as_view(), name="api-staff-detail"),
]
