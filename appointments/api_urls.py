"""Appointments API routes, mounted at /api/v1/ (see docos/urls_api.py)."""

from django.urls import URLPattern, URLResolver, path

from appointments import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("appointments", api.AppointmentListView.as_view(), name="api-appointments"),
    path("appointments/<uuid:id>", api.AppointmentDetailView.as_view(), name="api-appointment-detail"),
    path("appointments/<uuid:id>/cancel", api.AppointmentCancelView.as_view(), name="api-appointment-cancel"),
    path("appointments/<uuid:id>/check-in", api.AppointmentCheckInView.as_view(), name="api-appointment-check-in"),
    path("appointments/<uuid:id>/start", api.AppointmentStartView.as_view(), name="api-appointment-start"),
    path("appointments/<uuid:id>/no-show", api.AppointmentNoShowView.as_view(), name="api-appointment-no-show"),
    path("appointments/<uuid:id>/complete", api.AppointmentCompleteView.as_view(), name="api-appointment-complete"),
    path("availability", api.AvailabilityView.as_view(), name="api-availability"),
]
