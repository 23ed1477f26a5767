"""The clinic settings console, mounted at /settings/ on a clinic's host."""

from django.urls import URLPattern, URLResolver, include, path

from accounts import console_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="console_overview"),
    path("locations/", views.location_list, name="console_locations"),
    path("locations/new/", views.location_create, name="console_location_create"),
    path("locations/<uuid:pk>/", views.location_edit, name="console_location_edit"),
    path("locations/<uuid:pk>/deactivate/", views.location_deactivate, name="console_location_deactivate"),
    path("locations/<uuid:pk>/reactivate/", views.location_reactivate, name="console_location_reactivate"),
    path("staff/", views.staff_list, name="console_staff"),
    path("staff/invite/", views.staff_invite, name="console_staff_invite"),
    path("staff/<uuid:pk>/", views.staff_detail, name="console_staff_detail"),
    path("staff/<uuid:pk>/resend-invite/", views.staff_resend_invite, name="console_staff_resend_invite"),
    path("staff/<uuid:pk>/deactivate/", views.staff_deactivate, name="console_staff_deactivate"),
    path("staff/<uuid:pk>/reactivate/", views.staff_reactivate, name="console_staff_reactivate"),
    path("staff/<uuid:pk>/tokens/<uuid:token_pk>/revoke/", views.staff_token_revoke, name="console_staff_token_revoke"),
    path("roles/", views.role_list, name="console_roles"),
    path("roles/new/", views.role_create, name="console_role_create"),
    path("roles/<uuid:pk>/", views.role_detail, name="console_role_detail"),
    path("roles/<uuid:pk>/delete/", views.role_delete, name="console_role_delete"),
    path("tokens/", views.tokens, name="console_tokens"),
    path("tokens/<uuid:pk>/revoke/", views.token_revoke, name="console_token_revoke"),
    path("audit/", include("audit.urls")),
]
