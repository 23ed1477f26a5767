"""Appointment pages, mounted at /appointments/ (namespace "appointments")."""

from django.urls import URLPattern, URLResolver, path

from appointments import views
from appointments import views_schedules as schedules

app_name = "appointments"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.day_list, name="day"),
    path("calendar", views.calendar, name="calendar"),
    path("mine", views.my_day, name="mine"),
    path("new", views.book, name="book"),
    path("slots", views.slots, name="slots"),
    path("<uuid:appointment_id>/", views.detail, name="detail"),
    path("<uuid:appointment_id>/reschedule", views.reschedule, name="reschedule"),
    path("<uuid:appointment_id>/cancel", views.cancel, name="cancel"),
    path("<uuid:appointment_id>/check-in", views.check_in, name="check-in"),
    path("<uuid:appointment_id>/start", views.start, name="start"),
    path("<uuid:appointment_id>/no-show", views.no_show, name="no-show"),
    path("<uuid:appointment_id>/complete", views.complete, name="complete"),
    path("schedules/", schedules.hours, name="schedule-hours"),
    path("schedules/hours/<uuid:session_id>/remove", schedules.hours_remove, name="schedule-hours-remove"),
    path("schedules/hours/<uuid:session_id>/breaks", schedules.break_add, name="schedule-break-add"),
    path("schedules/breaks/<uuid:break_id>/remove", schedules.break_remove, name="schedule-break-remove"),
    path("schedules/leaves", schedules.leaves, name="schedule-leaves"),
    path("schedules/leaves/<uuid:leave_id>/remove", schedules.leave_remove, name="schedule-leave-remove"),
    path("schedules/holidays", schedules.holidays, name="schedule-holidays"),
    path("schedules/holidays/<uuid:holiday_id>/remove", schedules.holiday_remove, name="schedule-holiday-remove"),
    path("schedules/types", schedules.types, name="schedule-types"),
    path("schedules/types/<uuid:type_id>", schedules.types, name="schedule-type-edit"),
    path("schedules/reminders", schedules.rules, name="schedule-rules"),
    path("schedules/reminders/<uuid:rule_id>", schedules.rules, name="schedule-rule-edit"),
    path("schedules/settings", schedules.appointment_settings, name="schedule-settings"),
]
