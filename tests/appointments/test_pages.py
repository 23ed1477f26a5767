"""The HTML pages: they render for the roles that may use them, act through the services, and keep
the strict CSP (no inline scripts or style attributes)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments import services
from appointments.models import (
    Appointment,
    AppointmentSettings,
    Holiday,
    Leave,
    ReminderRule,
    ScheduleBreak,
    WorkingHours,
)
from audit.models import AuditEvent
from patients.models import Patient
from tests.appointments.helpers import at, book, give_hours, make_patient, make_rule, make_type, next_weekday, user
from tests.patients.test_registry_views import form_data

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


@pytest.fixture
def setup(clinic_a, clock):
    # Today's list, the queue and check-in follow the local day: pinned (tests/clock.py), never midnight.
    doctor = user(clinic_a, "doctor")
    give_hours(clinic_a, doctor, clinic_a.locations[0])
    consult = make_type(clinic_a)
    make_rule(clinic_a)
    return clinic_a, doctor, consult


def _clean(response):
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), "inline script"
    assert " style=" not in html, "inline style attribute"
    return html


def test_every_page_renders_for_the_front_desk(setup, client_for):
    clinic, doctor, _ = setup
    day = next_weekday(0)
    appointment = book(clinic, patient=make_patient(clinic, given_name="Kavya"), starts_at=at(day, 10))
    client = client_for(clinic, "front_desk")
    location = clinic.locations[0].pk
    pages = [
        f"/appointments/?location={location}&date={day}",
        f"/appointments/calendar?location={location}&date={day}",
        f"/appointments/calendar?location={location}&date={day}&view=week&doctor={doctor.pk}",
        "/appointments/mine",
        "/appointments/new?q=Kavya",
        f"/appointments/new?patient={appointment.patient_id}",
        f"/appointments/{appointment.pk}/",
        f"/appointments/{appointment.pk}/reschedule",
        f"/appointments/{appointment.pk}/cancel",
        f"/queue/?location={location}",
        "/queue/walk-in",
        f"/queue/board?location={location}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _clean(response)
    day_list = client.get(f"/appointments/?location={location}&date={day}").content.decode()
    assert "Kavya Verma" in day_list and "10:00\u201310:15" in day_list  # en dash
    calendar = client.get(f"/appointments/calendar?location={location}&date={day}").content.decode()
    assert 'draggable="true"' in calendar and f'data-clinician="{doctor.pk}"' in calendar
    assert f"/appointments/{appointment.pk}/reschedule" in calendar
    detail = client.get(f"/appointments/{appointment.pk}/").content.decode()
    assert "24 hours before" in detail and "Scheduled" in detail


def test_schedule_pages_render_for_an_administrator(setup, client_for):
    clinic, *_ = setup
    client = client_for(clinic, "administrator")
    for url in ("/appointments/schedules/", "/appointments/schedules/leaves", "/appointments/schedules/holidays",
                "/appointments/schedules/types", "/appointments/schedules/reminders",
                "/appointments/schedules/settings"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        _clean(response)


def test_booking_through_the_form(setup, client_for):
    clinic, doctor, consult = setup
    patient = make_patient(clinic)
    day = next_weekday(1)
    client = client_for(clinic, "front_desk")
    form = {
        "patient": patient.pk, "location": clinic.locations[0].pk, "clinician": doctor.pk,
        "appointment_type": consult.pk, "date": day.isoformat(), "time": "17:30", "notes": "Cough",
    }  # fmt: skip
    response = client.post("/appointments/new", form)
    assert response.status_code == 302
    with tenant_context(clinic.clinic):
        appointment = Appointment.objects.get(patient=patient)
    assert appointment.starts_at == at(day, 17, 30)
    assert response["Location"] == f"/appointments/{appointment.pk}/"
    clash = client.post("/appointments/new", {**form, "patient": make_patient(clinic).pk})
    assert clash.status_code == 400
    assert "already has an appointment from 17:30 to 17:45" in clash.content.decode()


def test_dragging_posts_a_reschedule_and_a_clash_answers_409(setup, client_for):
    clinic, doctor, _ = setup
    day = next_weekday(2)
    moving = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    book(clinic, patient=make_patient(clinic), starts_at=at(day, 11))
    client = client_for(clinic, "front_desk")
    url = f"/appointments/{moving.pk}/reschedule"
    headers = {"HTTP_ACCEPT": "application/json"}
    ok = client.post(url, {"date": day.isoformat(), "time": "12:00", "clinician": doctor.pk}, **headers)
    assert ok.status_code == 200 and ok.json()["ok"] is True
    clash = client.post(url, {"date": day.isoformat(), "time": "11:00"}, **headers)
    assert clash.status_code == 409 and clash.json()["code"] == "slot_taken"
    assert "11:00 to 11:15" in clash.json()["message"]
    outside = client.post(url, {"date": day.isoformat(), "time": "15:00"}, **headers)
    assert outside.status_code == 400 and "outside" in outside.json()["message"]
    with tenant_context(clinic.clinic):
        assert Appointment.objects.get(pk=moving.pk).starts_at == at(day, 12)


def test_reschedule_form_is_the_keyboard_alternative(setup, client_for):
    clinic, *_ = setup
    day = next_weekday(2)
    moving = book(clinic, patient=make_patient(clinic), starts_at=at(day, 10))
    response = client_for(clinic, "front_desk").post(
        f"/appointments/{moving.pk}/reschedule", {"date": day.isoformat(), "time": "18:00"}
    )
    assert response.status_code == 302
    with tenant_context(clinic.clinic):
        assert Appointment.objects.get(pk=moving.pk).starts_at == at(day, 18)


def _starting_soon(clinic, doctor) -> Appointment:
    """An appointment today, in two minutes (so it can be checked in)."""
    give_hours(clinic, doctor, clinic.locations[0], weekdays=[6], sessions=[(dt.time(0, 0), dt.time(23, 59))])
    soon = (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    return book(clinic, patient=make_patient(clinic), starts_at=soon, outside_hours=True)


def test_cancel_check_in_and_complete_through_the_pages(setup, client_for):
    clinic, doctor, _ = setup
    appointment = _starting_soon(clinic, doctor)
    desk = client_for(clinic, "front_desk")
    assert desk.post(f"/appointments/{appointment.pk}/check-in").status_code == 302
    assert desk.post(f"/appointments/{appointment.pk}/check-in").status_code == 302  # refused, with a message
    doctor_client = client_for(clinic, "doctor")
    doctor_client.post(f"/appointments/{appointment.pk}/start")
    done = doctor_client.post(f"/appointments/{appointment.pk}/complete", {"visit": ""})
    with tenant_context(clinic.clinic):
        appointment.refresh_from_db()
    assert appointment.status == "completed"
    assert done["Location"] == f"/visits/{appointment.visit_id}/"
    other = book(clinic, patient=make_patient(clinic), starts_at=at(next_weekday(3), 10))
    refused = desk.post(f"/appointments/{other.pk}/cancel", {"reason": "other", "note": ""})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert desk.post(f"/appointments/{other.pk}/cancel", {"reason": "patient_request"}).status_code == 302


def test_walk_in_and_queue_actions_through_the_pages(setup, client_for):
    clinic, doctor, _ = setup
    patient = make_patient(clinic)
    desk = client_for(clinic, "front_desk")
    response = desk.post(
        "/queue/walk-in", {"patient": patient.pk, "location": clinic.locations[0].pk, "clinician": doctor.pk}
    )
    assert response.status_code == 302
    with tenant_context(clinic.clinic):
        entry = patient.queue_entries.get()
    assert entry.token == 1
    desk.post(f"/queue/{entry.pk}/call")
    desk.post(f"/queue/{entry.pk}/done")
    with tenant_context(clinic.clinic):
        entry.refresh_from_db()
    assert entry.status == "done"


def test_schedule_pages_save_through_the_services(setup, client_for):
    clinic, doctor, _ = setup
    client = client_for(clinic, "owner")
    location = clinic.locations[1].pk
    assert client.post("/appointments/schedules/", {
        "clinician": doctor.pk, "location": location, "weekdays": ["6"], "start_time": "10:00", "end_time": "12:00",
    }).status_code == 302  # fmt: skip
    overlap = client.post("/appointments/schedules/", {
        "clinician": doctor.pk, "location": location, "weekdays": ["0"], "start_time": "10:00", "end_time": "12:00",
    })  # fmt: skip
    assert overlap.status_code == 400 and "already works" in overlap.content.decode()
    day = next_weekday(4)
    assert (
        client.post("/appointments/schedules/holidays", {"date": day.isoformat(), "name": "Diwali"}).status_code == 302
    )
    assert client.post("/appointments/schedules/leaves", {
        "clinician": doctor.pk, "start_date": day.isoformat(), "end_date": day.isoformat(), "reason": "CME",
    }).status_code == 302  # fmt: skip
    assert client.post("/appointments/schedules/types", {
        "name": "Procedure", "duration_minutes": 30, "colour": "#b54708", "position": 2, "is_active": "on",
    }).status_code == 302  # fmt: skip
    assert client.post("/appointments/schedules/reminders", {
        "name": "Follow-up", "kind": "follow_up", "offset_minutes": 1440, "days_before": 1, "send_time": "10:00",
        "whatsapp_template": "follow_up_reminder", "language": "hi", "is_active": "on",
    }).status_code == 302  # fmt: skip
    bad = client.post("/appointments/schedules/reminders", {
        "name": "Bad", "kind": "appointment", "offset_minutes": 60, "days_before": 1, "send_time": "10:00",
        "whatsapp_template": "Not A Template", "language": "english",
    })  # fmt: skip
    assert bad.status_code == 400 and "lowercase letters" in bad.content.decode()
    assert client.post("/appointments/schedules/settings", {
        "allow_overbooking": "on", "quiet_hours_start": "22:00", "quiet_hours_end": "07:30",
    }).status_code == 302  # fmt: skip
    with tenant_context(clinic.clinic):
        assert WorkingHours.objects.filter(clinician=doctor, weekday=6).exists()
        assert Holiday.objects.filter(date=day, name="Diwali").exists()
        assert doctor.leaves.get().ends_at == at(day + dt.timedelta(days=1), 0)
        assert ReminderRule.objects.get(name="Follow-up").template_name == "follow_up_reminder"
        settings = AppointmentSettings.objects.get()
        assert settings.allow_overbooking and settings.quiet_hours_end == dt.time(7, 30)


def test_schedule_remove_buttons_remove_through_the_services(setup, client_for):
    clinic, doctor, _ = setup
    client = client_for(clinic, "owner")
    day = next_weekday(4)
    with tenant_context(clinic.clinic):
        session = WorkingHours.objects.filter(clinician=doctor).order_by("weekday", "start_time").first()
        pause = ScheduleBreak.objects.create(working_hours=session, start_time=dt.time(11), end_time=dt.time(11, 15))
        holiday = Holiday.objects.create(date=day, name="Diwali")
        leave = Leave.objects.create(clinician=doctor, starts_at=at(day, 0), ends_at=at(day, 23))
    for url, back, message in [
        (f"schedules/breaks/{pause.pk}/remove", "/appointments/schedules/", "Break removed."),
        (f"schedules/hours/{session.pk}/remove", "/appointments/schedules/", "Session removed."),
        (f"schedules/holidays/{holiday.pk}/remove", "/appointments/schedules/holidays", "Holiday removed."),
        (f"schedules/leaves/{leave.pk}/remove", "/appointments/schedules/leaves", "Leave removed."),
    ]:
        assert client.get(f"/appointments/{url}").status_code == 405
        response = client.post(f"/appointments/{url}", follow=True)
        assert response.redirect_chain == [(back, 302)] and message in response.content.decode()
        assert client.post(f"/appointments/{url}").status_code == 404  # gone
    assert (
        client_for(clinic, "front_desk").post(f"/appointments/schedules/hours/{session.pk}/remove").status_code == 403
    )
    with tenant_context(clinic.clinic):
        actions = set(AuditEvent.objects.filter(action__startswith="schedule.").values_list("action", flat=True))
    assert {
        "schedule.break_remove",
        "schedule.hours_remove",
        "schedule.holiday_remove",
        "schedule.leave_remove",
    } <= actions


def test_the_front_desk_completes_without_opening_a_visit(setup, client_for):
    clinic, doctor, _ = setup
    appointment = _starting_soon(clinic, doctor)
    desk = client_for(clinic, "front_desk")
    desk.post(f"/appointments/{appointment.pk}/check-in")
    page = _clean(desk.get(f"/appointments/{appointment.pk}/complete"))
    assert "No visit" in page and "Open a new draft visit" not in page
    assert (
        "Open a new draft visit"
        in client_for(clinic, "doctor").get(f"/appointments/{appointment.pk}/complete").content.decode()
    )
    done = desk.post(f"/appointments/{appointment.pk}/complete", {"visit": "", "next": "/appointments/"})
    assert done["Location"] == "/appointments/"
    with tenant_context(clinic.clinic):
        appointment.refresh_from_db()
    assert appointment.status == "completed" and appointment.visit_id is None


def test_registering_from_the_walk_in_keeps_the_typed_name_and_comes_back(setup, client_for):
    clinic, *_ = setup
    desk = client_for(clinic, "front_desk")
    location = clinic.locations[0].pk
    search = desk.get("/queue/walk-in", {"q": "Meenakshi Sundaram", "location": location})
    link = re.search(r'href="(/patients/new\?[^"]+)"', search.content.decode())
    assert link, "no register link on an empty search"
    register_page = desk.get(link.group(1).replace("&amp;", "&"))
    html = register_page.content.decode()
    assert 'value="Meenakshi"' in html and 'value="Sundaram"' in html
    back = re.search(r'name="next" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert back == f"/queue/walk-in?location={location}"
    done = desk.post(
        "/patients/new",
        form_data(clinic, given_name="Meenakshi", family_name="Sundaram", phone="94440 55123", next=back),
    )
    with tenant_context(clinic.clinic):
        patient = Patient.objects.get(phone="+919444055123")
    assert done.status_code == 302 and done["Location"] == f"{back}&patient={patient.pk}"
    # the walk-in page now has the patient chosen
    assert "Meenakshi Sundaram" in desk.get(done["Location"]).content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_register_never_sends_staff_to_another_site(setup, client_for, target):
    clinic, *_ = setup
    done = client_for(clinic, "front_desk").post("/patients/new", form_data(clinic, next=target))
    assert done.status_code == 302 and done["Location"].startswith("/patients/")


def test_patient_names_in_the_day_pages_link_to_the_chart(setup, client_for, clock):
    clinic, *_ = setup
    patient = make_patient(clinic, given_name="Harpreet")
    soon = (timezone.now() + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    appointment = book(clinic, patient=patient, starts_at=soon, outside_hours=True)
    with tenant_context(clinic.clinic):
        services.appointment_check_in(appointment=appointment, actor=user(clinic, "front_desk"))
    chart = f'href="/patients/{patient.pk}/"'
    desk = client_for(clinic, "front_desk")
    location = clinic.locations[0].pk
    for page in (
        f"/queue/?location={location}",
        f"/appointments/?location={location}",
        f"/appointments/{appointment.pk}/",
        f"/appointments/calendar?location={location}",
        f"/appointments/calendar?location={location}&view=week",
    ):
        assert chart in desk.get(page).content.decode(), page
    assert chart in client_for(clinic, "doctor").get("/appointments/mine").content.decode()


def test_a_calendar_block_links_the_name_to_the_chart_and_the_time_to_the_appointment(setup, client_for, clock):
    clinic, *_ = setup
    patient = make_patient(clinic, given_name="Harpreet")
    soon = (timezone.now() + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    appointment = book(clinic, patient=patient, starts_at=soon, outside_hours=True)
    html = _clean(client_for(clinic, "front_desk").get(f"/appointments/calendar?location={clinic.locations[0].pk}"))
    block = html[html.index('class="appt status-') :]
    block = block[: block.index("</div>")]
    assert f'href="/patients/{patient.pk}/">{patient.full_name}</a>' in block
    assert f'href="/appointments/{appointment.pk}/"' in block
    assert block.count("<a ") == 2, "no link nested in another"
    assert 'draggable="true"' in block and "data-reschedule-url" in block
