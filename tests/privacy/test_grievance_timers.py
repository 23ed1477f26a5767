"""Grievances and requests: the answer period the clinic publishes is a setting capped at 90 days
(DPDP Rules 2025, rule 14), and the dashboard counts open requests by timer: acknowledgement due,
answer due, overdue (boundaries under a pinned clock)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from privacy.dashboard import privacy_panel
from privacy.models import PrivacySettings, RightsRequest
from privacy.services import privacy_settings_update, rights_request_acknowledge, rights_request_create
from tests.clock import CLINIC_MORNING
from tests.privacy.helpers import owner


def _grievance(seeded, received_at):
    return rights_request_create(
        actor=owner(seeded), kind=RightsRequest.Kind.GRIEVANCE, location=seeded.locations[0],
        requester_name="Suresh Menon", verification=RightsRequest.Verification.IN_PERSON_ID, received_at=received_at,
    )  # fmt: skip


def _tiles(seeded):
    panel = privacy_panel(owner(seeded))
    assert panel is not None
    return {tile.label: tile.count for tile in panel.rows[0].tiles}


def test_the_answer_period_is_a_setting_of_at_most_90_days(clinic_a, clock):
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError):
            privacy_settings_update(actor=owner(clinic_a), answer_days=91)
        privacy_settings_update(actor=owner(clinic_a), answer_days=45, privacy_contact="Dr. Rao, +91 80 4123 4567")
        grievance = _grievance(clinic_a, CLINIC_MORNING - dt.timedelta(hours=1))
        assert grievance.answer_due_at - grievance.received_at == dt.timedelta(days=45)
        with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses it too
            PrivacySettings.objects.update(answer_days=120)


def test_the_dashboard_counts_requests_by_timer(clinic_a, clock):
    clock.move_to(CLINIC_MORNING, tick=False)
    with tenant_context(clinic_a.clinic):
        privacy_settings_update(actor=owner(clinic_a), acknowledge_days=7, answer_days=30)
        fresh = _grievance(clinic_a, CLINIC_MORNING - dt.timedelta(days=7))  # acknowledgement due exactly now
        answered = _grievance(clinic_a, CLINIC_MORNING - dt.timedelta(days=2))
        rights_request_acknowledge(request=answered, actor=owner(clinic_a))
        assert fresh.acknowledge_due_at == CLINIC_MORNING
        tiles = _tiles(clinic_a)
        assert (tiles["to acknowledge"], tiles["answer due"], tiles["overdue"]) == (1, 1, 0)
        clock.move_to(CLINIC_MORNING + dt.timedelta(seconds=1), tick=False)
        tiles = _tiles(clinic_a)
        assert (tiles["to acknowledge"], tiles["answer due"], tiles["overdue"]) == (0, 1, 1)
        assert tiles["open grievances"] == 2


def test_the_request_list_says_which_deadline_is_next(clinic_a, client_for, clock):
    with tenant_context(clinic_a.clinic):
        _grievance(clinic_a, CLINIC_MORNING - dt.timedelta(days=1))
    page = client_for(clinic_a, "owner").get("/settings/privacy/?status=open").content.decode()
    assert "Acknowledge by" in page
