"""The appointments panel of the home dashboard: today's appointments by status and who is waiting
now, per branch for the front desk, and a doctor's own day for a doctor."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import is_clinician, locations_for
from appointments.models import Appointment, QueueEntry
from appointments.schedule import location_tz
from appointments.selectors import appointment_list, clinic_tz
from docos.dashboard import Panel, PanelRow, Tile

S = Appointment.Status
# (label, statuses, needs the user's attention when there are any)
STATUS_TILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Expected", (S.BOOKED, S.CONFIRMED)),
    ("Checked in", (S.CHECKED_IN,)),
    ("In consultation", (S.IN_CONSULTATION,)),
    ("Completed", (S.COMPLETED,)),
    ("No-show or cancelled", (S.NO_SHOW, S.CANCELLED)),
)


def _status_counts(appointments: object) -> Counter[str]:
    rows = appointments.values("status").annotate(n=Count("id")).order_by()  # type: ignore[attr-defined]
    return Counter({row["status"]: row["n"] for row in rows})


def _tiles(counts: Counter[str], url_for: dict[str, str], base_url: str) -> list[Tile]:
    return [
        Tile(label, sum(counts[s] for s in statuses), url_for.get(label, base_url)) for label, statuses in STATUS_TILES
    ]


def _branch_row(user: User, location: Location) -> PanelRow:
    today = timezone.now().astimezone(location_tz(location)).date()
    counts = _status_counts(appointment_list(user=user, day=today, location=location))
    day_url = reverse("appointments:day")
    by_status = {
        label: f"{day_url}?{urlencode({'location': location.pk, 'status': statuses[0]})}"
        for label, statuses in STATUS_TILES
        if len(statuses) == 1
    }
    waiting = QueueEntry.objects.filter(location=location, day=today, status=QueueEntry.Status.WAITING).count()
    queue_url = f"{reverse('queue:list')}?{urlencode({'location': location.pk})}"
    tiles = [*_tiles(counts, by_status, f"{day_url}?{urlencode({'location': location.pk})}")]
    tiles.insert(1, Tile("Waiting now", waiting, queue_url, attention=True))
    return PanelRow(location.name, tiles)


def _own_day(user: User, today: dt.date) -> PanelRow:
    counts = _status_counts(appointment_list(user=user, day=today, clinician=user))
    mine = reverse("appointments:mine")
    waiting = QueueEntry.objects.filter(clinician=user, day=today, status=QueueEntry.Status.WAITING).count()
    tiles = _tiles(counts, {}, mine)
    tiles.insert(1, Tile("Waiting for you", waiting, mine, attention=True))
    return PanelRow("", tiles)


def today_panel(user: User) -> Panel | None:
    if not user.has_capability("appointments.view"):
        return None
    if is_clinician(user):
        today = timezone.now().astimezone(clinic_tz()).date()
        return Panel(
            title="Your appointments today",
            rows=[_own_day(user, today)],
            order=10,
            link=("My day", reverse("appointments:mine")),
            empty="No appointments for you today.",
        )
    return Panel(
        title="Today's appointments",
        rows=[_branch_row(user, location) for location in locations_for(user).order_by("name")],
        order=10,
        link=("Day list", reverse("appointments:day")),
        empty="No appointments or walk-ins today yet.",
    )
