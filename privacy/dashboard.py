"""The home dashboard's privacy panels, for users with `privacy.manage`: "Privacy requests" (open
requests and grievances by timer: acknowledgement due, answer due, overdue, drawn out) and "Data
breaches" (the CERT-In 6-hour and Data Protection Board 72-hour reports still due or overdue, for
privacy managers who work at every branch)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from docos.dashboard import Panel, PanelRow, Tile
from privacy.breaches import may_manage_breaches
from privacy.models import BreachIncident, RightsRequest
from privacy.selectors import (
    breach_overdue_condition,
    breaches_visible_to,
    grievance_timers,
    overdue_condition,
    requests_visible_to,
)

LIST = "/settings/privacy/"
BREACHES = "/settings/privacy/breaches/"


def privacy_panel(user: Any) -> Panel | None:
    if not user.has_capability("privacy.manage"):
        return None
    requests = requests_visible_to(user).filter(status__in=RightsRequest.OPEN)
    now = timezone.now()
    overdue = requests.filter(overdue_condition(now))
    grievances = requests.filter(kind=RightsRequest.Kind.GRIEVANCE)
    timers = grievance_timers(user, now)
    notes = [
        _("%(ref)s (%(kind)s) was due %(due)s") % {
            "ref": r.reference, "kind": r.get_kind_display(), "due": timezone.localtime(r.due_at()).strftime("%d %b"),
        }
        for r in overdue.order_by("answer_due_at")[:5]
    ]  # fmt: skip
    return Panel(
        title=_("Privacy requests"),
        rows=[
            PanelRow(
                "",
                [
                    Tile(_("overdue"), timers["overdue"], f"{LIST}?status=open&overdue=1", True),
                    Tile(_("to acknowledge"), timers["acknowledge_due"], f"{LIST}?status=received"),
                    Tile(_("answer due"), timers["answer_due"], f"{LIST}?status=open"),
                    Tile(_("open requests"), requests.count(), f"{LIST}?status=open"),
                    Tile(_("open grievances"), grievances.count(), f"{LIST}?status=open&kind=grievance"),
                ],
            )
        ],
        order=80,
        link=(_("Privacy requests"), LIST),
        empty=_("No open privacy requests."),
        notes=notes,
    )


def _report_note(incident: BreachIncident, now: Any) -> str:
    late = [
        name
        for name, state, due in (
            (_("CERT-In"), incident.cert_in_state(now), incident.cert_in_due_at),
            (_("Data Protection Board"), incident.board_state(now), incident.board_due_at),
        )
        if state == "overdue"
    ]
    timers = (
        (incident.cert_in_due_at, incident.cert_in_reported_at),
        (incident.board_due_at, incident.board_reported_at),
    )
    due = min(deadline for deadline, reported in timers if reported is None)
    return _("%(ref)s: report to %(who)s overdue since %(due)s") % {
        "ref": incident.reference, "who": _(" and ").join(late),
        "due": timezone.localtime(due).strftime("%d %b %H:%M"),
    }  # fmt: skip


def breach_panel(user: Any) -> Panel | None:
    if not may_manage_breaches(user):
        return None
    now = timezone.now()
    incidents = breaches_visible_to(user)
    overdue = incidents.filter(breach_overdue_condition(now))
    # Reports, not incidents: one incident may have its CERT-In report overdue and its Board report due.
    late = (
        incidents.filter(cert_in_reported_at__isnull=True, cert_in_due_at__lte=now).count()
        + incidents.filter(board_reported_at__isnull=True, board_due_at__lte=now).count()
    )
    due = (
        incidents.filter(cert_in_reported_at__isnull=True, cert_in_due_at__gt=now).count()
        + incidents.filter(board_reported_at__isnull=True, board_due_at__gt=now).count()
    )
    active = incidents.exclude(status=BreachIncident.Status.CLOSED)
    return Panel(
        title=_("Data breaches"),
        rows=[
            PanelRow(
                "",
                [
                    Tile(_("reports overdue"), late, BREACHES, True),
                    Tile(_("reports due"), due, BREACHES, True),
                    Tile(_("open incidents"), active.count(), BREACHES),
                ],
            )
        ],
        order=79,
        link=(_("Breach register"), BREACHES),
        empty=_("No open breaches."),
        notes=[_report_note(incident, now) for incident in overdue.order_by("cert_in_due_at")[:5]],
    )
