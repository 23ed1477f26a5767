"""Breach reporting timers, at their boundaries under a pinned clock: CERT-In within 6 hours and
the Data Protection Board within 72 hours of discovery (overdue from the deadline itself), stopped
by marking the report made; shown on the register and on the home dashboard's breach panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from privacy.breaches import breach_mark_reported, breach_set_status
from privacy.dashboard import breach_panel
from privacy.models import BreachIncident
from tests.clock import CLINIC_MORNING
from tests.privacy.breach_helpers import incident
from tests.privacy.helpers import owner

SECOND = dt.timedelta(seconds=1)


def test_the_timers_run_6_and_72_hours_from_discovery(clinic_a, clock):
    found = CLINIC_MORNING - dt.timedelta(hours=1)
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=found)
        assert breach.reference == "BR-000001"
        assert breach.cert_in_due_at == found + dt.timedelta(hours=6)
        assert breach.board_due_at == found + dt.timedelta(hours=72)
        cert_due, board_due = breach.cert_in_due_at, breach.board_due_at
        assert breach.cert_in_state(cert_due - SECOND) == "due"
        assert breach.cert_in_state(cert_due) == "overdue"
        assert breach.board_state(board_due - SECOND) == "due"
        assert breach.board_state(board_due) == "overdue"
        assert not breach.is_overdue(cert_due - SECOND)
        assert breach.is_overdue(cert_due)


def test_marking_a_report_stops_its_timer_and_says_when_it_was_late(clinic_a, clock):
    found = CLINIC_MORNING - dt.timedelta(hours=8)
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=found)
        breach = breach_mark_reported(
            incident=breach, actor=owner(clinic_a), target="cert_in", reported_at=found + dt.timedelta(hours=7),
            reference="CERTIn-2026-1",
        )  # fmt: skip
        assert breach.cert_in_state() == "reported_late"
        breach = breach_mark_reported(incident=breach, actor=owner(clinic_a), target="board")
        assert breach.board_state(breach.board_due_at + dt.timedelta(days=3)) == "reported"
        assert not breach.is_overdue(breach.board_due_at + dt.timedelta(days=3))
        events = AuditEvent.objects.filter(action="privacy.breach_reported", object_id=str(breach.pk))
        assert [e.metadata for e in events.order_by("seq")] == [
            {"target": "cert_in", "late": True}, {"target": "board", "late": False},
        ]  # fmt: skip


def test_a_report_cannot_be_dated_in_the_future_or_before_discovery(clinic_a, clock):
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING - dt.timedelta(hours=1))
        for when in (CLINIC_MORNING + dt.timedelta(hours=1), CLINIC_MORNING - dt.timedelta(hours=3)):
            with pytest.raises(ValidationError):
                breach_mark_reported(incident=breach, actor=owner(clinic_a), target="board", reported_at=when)


def test_closing_needs_both_reports(clinic_a, clock):
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING - dt.timedelta(hours=1))
        with pytest.raises(ValidationError, match="CERT-In and Data Protection Board"):
            breach_set_status(incident=breach, actor=owner(clinic_a), status=BreachIncident.Status.CLOSED)
        breach = breach_set_status(incident=breach, actor=owner(clinic_a), status=BreachIncident.Status.CONTAINED)
        assert breach.contained_at is not None


def test_the_dashboard_panel_counts_due_and_overdue_reports_at_the_boundary(clinic_a, clock):
    found = CLINIC_MORNING - dt.timedelta(hours=6) + SECOND  # CERT-In due one second from now
    with tenant_context(clinic_a.clinic):
        incident(clinic_a, discovered_at=found)
        user = owner(clinic_a)
        clock.move_to(CLINIC_MORNING, tick=False)
        panel = breach_panel(user)
        assert panel is not None
        tiles = {tile.label: tile.count for tile in panel.rows[0].tiles}
        assert tiles == {"reports overdue": 0, "reports due": 2, "open incidents": 1}
        clock.move_to(CLINIC_MORNING + SECOND, tick=False)
        panel = breach_panel(user)
        assert panel is not None
        tiles = {tile.label: tile.count for tile in panel.rows[0].tiles}
        assert tiles == {"reports overdue": 1, "reports due": 1, "open incidents": 1}
        assert panel.notes and "CERT-In" in panel.notes[0] and "BR-000001" in panel.notes[0]


def test_the_register_and_home_page_draw_out_an_overdue_report(clinic_a, client_for, clock):
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING - dt.timedelta(hours=7))
    client = client_for(clinic_a, "owner")
    page = client.get("/settings/privacy/breaches/").content.decode()
    assert 'class="overdue"' in page and "timer overdue" in page
    detail = client.get(f"/settings/privacy/breaches/{breach.pk}/").content.decode()
    assert "the report to CERT-In was due" in detail
    home = client.get("/").content.decode()
    assert "Data breaches" in home and "reports overdue" in home


def test_a_discovery_or_start_before_2000_is_refused_as_a_typo(clinic_a, clock):
    """Year 0001 passed validation and the timers' arithmetic could leave the calendar (a 500)."""
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError) as refused:
            incident(clinic_a, discovered_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC))
        assert "discovered_at" in refused.value.message_dict
        with pytest.raises(ValidationError) as refused:
            incident(clinic_a, discovered_at=CLINIC_MORNING, occurred_from=dt.datetime(1999, 12, 31, tzinfo=dt.UTC))
        assert "occurred_from" in refused.value.message_dict
        assert not BreachIncident.objects.exists()
