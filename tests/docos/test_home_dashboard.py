"""The home dashboard: today's appointments by status and who is waiting, per branch for the front
desk and a doctor's own day for a doctor; unsigned drafts and follow-ups due for those who write the
record; each number links to the list behind it."""

from __future__ import annotations

import datetime as dt
import re

from django_tenants.utils import tenant_context

from appointments import services as appointments
from clinical import services as clinical
from clinical.models import Visit
from tests.appointments.helpers import at, book, give_hours, make_patient, make_type
from tests.clinical.clinical_helpers import draft_visit, restrict, signing_doctor
from tests.clock import CLINIC_MORNING

TODAY = CLINIC_MORNING.date()


def _tiles(html: str) -> dict[str, int]:
    """Tile label -> count, in page order (the same label in two rows keeps the first)."""
    found: dict[str, int] = {}
    for count, label in re.findall(r'tile-count">(\d+)</span> <span class="tile-label">([^<]+)<', html):
        found.setdefault(label, int(count))
    return found


def _rows(html: str) -> list[str]:
    return re.findall(r'<h3 class="dashboard-row">([^<]+)</h3>', html)


def _seed_today(seeded):
    doctor, front_desk = seeded.users["doctor"], seeded.users["front_desk"]
    east, main = seeded.locations
    give_hours(seeded, doctor, east)
    kind = make_type(seeded)
    first = book(seeded, patient=make_patient(seeded), starts_at=at(TODAY, 11), location=east, appointment_type=kind)
    book(
        seeded,
        patient=make_patient(seeded, given_name="Ravi"),
        starts_at=at(TODAY, 11, 30),
        location=east,
        appointment_type=kind,
    )
    with tenant_context(seeded.clinic):
        appointments.appointment_check_in(appointment=first, actor=front_desk)
        appointments.queue_add_walk_in(
            patient=make_patient(seeded, given_name="Imran"), clinician=doctor, location=main, actor=front_desk
        )


def test_front_desk_sees_each_branch_today_with_links(clinic_a, client_for, clock):
    _seed_today(clinic_a)
    html = client_for(clinic_a, "front_desk").get("/").content.decode()
    assert "Today&#x27;s appointments" in html or "Today's appointments" in html
    assert _rows(html) == ["East branch", "Main branch"]
    east = html.split('dashboard-row">East branch')[1].split('dashboard-row">Main branch')[0]
    assert _tiles(east) == {
        "Expected": 1,
        "Waiting now": 1,
        "Checked in": 1,
        "In consultation": 0,
        "Completed": 0,
        "No-show or cancelled": 0,
    }
    main = html.split('dashboard-row">Main branch')[1]
    assert _tiles(main)["Waiting now"] == 1 and _tiles(main)["Expected"] == 0
    assert f"/queue/?location={clinic_a.locations[0].pk}" in east
    assert "Unsigned visit notes" not in html  # the front desk does not write the record


def test_a_one_branch_front_desk_sees_only_its_branch(clinic_a, client_for, clock):
    _seed_today(clinic_a)
    restrict(clinic_a, "front_desk", 1)
    html = client_for(clinic_a, "front_desk").get("/").content.decode()
    assert _rows(html) == ["Main branch"]


def test_a_doctor_sees_their_own_day_drafts_and_follow_ups(clinic_a, client_for, clock):
    _seed_today(clinic_a)
    doctor = signing_doctor(clinic_a)
    patient = make_patient(clinic_a, given_name="Kavya")
    draft_visit(clinic_a, make_patient(clinic_a, given_name="Suresh"))
    due = draft_visit(clinic_a, patient, visit_at=CLINIC_MORNING - dt.timedelta(days=7), follow_up_date=TODAY)
    with tenant_context(clinic_a.clinic):
        clinical.visit_sign(visit=due, actor=doctor)
    client = client_for(clinic_a)
    client.login_as(doctor)
    html = client.get("/").content.decode()
    assert "Your appointments today" in html and "Your clinical work" in html
    tiles = _tiles(html)
    assert tiles["Expected"] == 1 and tiles["Waiting for you"] == 2 and tiles["Checked in"] == 1
    assert tiles["Unsigned visit notes"] == 1 and tiles["Follow-ups due"] == 1
    listed = client.get("/visits/follow-ups").content.decode()
    assert "Kavya" in listed and f"/visits/{due.pk}/" in listed

    # Seen again: the follow-up is done.
    draft_visit(clinic_a, patient)
    assert _tiles(client.get("/").content.decode())["Follow-ups due"] == 0
    assert "No follow-ups due" in client.get("/visits/follow-ups").content.decode()


def test_follow_ups_are_not_shown_to_a_branch_that_cannot_see_the_patient(clinic_a, client_for, clock):
    nurse = restrict(clinic_a, "nurse", 1)  # Main branch only; the visit is at East branch
    patient = make_patient(clinic_a, given_name="Kavya")
    due = draft_visit(clinic_a, patient, visit_at=CLINIC_MORNING - dt.timedelta(days=7), follow_up_date=TODAY)
    with tenant_context(clinic_a.clinic):
        clinical.visit_sign(visit=due, actor=signing_doctor(clinic_a))
        assert Visit.objects.get(pk=due.pk).location == clinic_a.locations[0]
    client = client_for(clinic_a)
    client.login_as(nurse)
    assert "Kavya" not in client.get("/visits/follow-ups").content.decode()
    assert _tiles(client.get("/").content.decode())["Follow-ups due"] == 0
    everywhere = client_for(clinic_a, "administrator")  # not a clinician: every follow-up of every branch
    assert "Kavya" in everywhere.get("/visits/follow-ups").content.decode()
