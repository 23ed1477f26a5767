"""The patients a breach affected, computed from the record-access log and the audit log: the
compromised account's reads and audited changes inside the window (whole ten-minute access-log
windows at its start), nobody else's and nothing outside it; a token's user, within the token's
life; merged records notified on the survivor; hand-made corrections survive a recomputation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.services import api_token_create, api_token_revoke
from audit.models import AuditEvent, RecordAccess
from audit.services import audit_record
from privacy.breaches import breach_add_patient, breach_compute_affected, breach_remove_patient
from privacy.models import AffectedPatient, BreachIncident
from tests.appointments.helpers import make_patient
from tests.clock import CLINIC_MORNING
from tests.privacy.breach_helpers import incident
from tests.privacy.helpers import owner

START = CLINIC_MORNING - dt.timedelta(hours=3) + dt.timedelta(minutes=5)  # not on a ten-minute boundary
END = CLINIC_MORNING - dt.timedelta(hours=2)


def _read(user, patient, at, what="chart"):
    RecordAccess.objects.create(
        user_id=user.pk, patient_id=patient.pk, window=int(at.timestamp()) // RecordAccess.WINDOW_SECONDS,
        first_at=at, what=what,
    )  # fmt: skip


def _listed(breach):
    return set(AffectedPatient.objects.filter(incident=breach, excluded=False).values_list("patient_id", flat=True))


def test_reads_and_changes_by_the_account_inside_the_window_are_found(clinic_a, clock):
    opened, opened_at_edge, changed, noted, before, after, by_other = (
        make_patient(clinic_a, given_name=f"P{i}") for i in range(7)
    )
    with tenant_context(clinic_a.clinic):
        account = User.objects.get(pk=clinic_a.users["front_desk"].pk)
        doctor = User.objects.get(pk=clinic_a.users["doctor"].pk)
        _read(account, opened, START + dt.timedelta(minutes=20))
        _read(account, opened, START + dt.timedelta(minutes=40), what="visit")
        # The first read of its ten-minute window came 2 minutes before the start: later reads of the
        # same window (inside the breach) leave no row of their own, so the whole window counts.
        _read(account, opened_at_edge, START - dt.timedelta(minutes=2))
        _read(account, before, START - dt.timedelta(minutes=30))
        _read(account, after, END + dt.timedelta(minutes=1))
        _read(doctor, by_other, START + dt.timedelta(minutes=5))
        with clock_at(clock, START + dt.timedelta(minutes=10)):
            audit_record(actor=account, action="patient.update", obj=changed)
            audit_record(actor=account, action="allergy.add", object_type="clinical.patientallergy",
                         object_id="1", metadata={"patient": str(noted.pk)})  # fmt: skip
            audit_record(actor=doctor, action="patient.update", obj=by_other)
        breach = incident(
            clinic_a, discovered_at=CLINIC_MORNING - dt.timedelta(hours=1), account=account,
            occurred_from=START, occurred_to=END,
        )  # fmt: skip
        breach = breach_compute_affected(incident=breach, actor=owner(clinic_a))
        assert _listed(breach) == {opened.pk, opened_at_edge.pk, changed.pk, noted.pk}
        row = AffectedPatient.objects.get(incident=breach, patient=opened)
        assert row.source == "computed" and row.basis == "opened: chart, visit"
        assert AffectedPatient.objects.get(incident=breach, patient=changed).basis == "1 audited change"
        derivation = breach.affected_derivation
        assert "2 patients from 3 record-access entries" in derivation and "2 from 2 audit events" in derivation
        assert "4 in all" in breach.affected_derivation and account.email in breach.affected_derivation
        event = AuditEvent.objects.get(action="privacy.breach_affected_compute", object_id=str(breach.pk))
        assert event.metadata == {"found": 4, "added": 4, "dropped": 0}
        assert "P0" not in str(event.metadata) and "Verma" not in breach.affected_derivation


class clock_at:
    def __init__(self, clock, moment):
        self.clock, self.moment = clock, moment

    def __enter__(self):
        self.clock.move_to(self.moment, tick=False)

    def __exit__(self, *exc):
        self.clock.move_to(CLINIC_MORNING, tick=True)


def test_a_merged_patient_is_listed_on_the_surviving_record(clinic_a, clock):
    survivor, merged = make_patient(clinic_a), make_patient(clinic_a, given_name="Dup")
    with tenant_context(clinic_a.clinic):
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into"])
        account = User.objects.get(pk=clinic_a.users["front_desk"].pk)
        _read(account, merged, START + dt.timedelta(minutes=5))
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING, account=account, occurred_from=START)
        assert _listed(breach_compute_affected(incident=breach, actor=owner(clinic_a))) == {survivor.pk}


def test_a_token_counts_its_users_reads_while_the_token_existed(clinic_a, clock):
    early, during, late = (make_patient(clinic_a, given_name=f"T{i}") for i in range(3))
    with tenant_context(clinic_a.clinic):
        doctor = User.objects.get(pk=clinic_a.users["doctor"].pk)
        _read(doctor, early, START - dt.timedelta(hours=1))
        clock.move_to(START, tick=False)
        token, _secret = api_token_create(user=doctor, actor=doctor, name="Lab integration")
        _read(doctor, during, START + dt.timedelta(minutes=30))
        clock.move_to(START + dt.timedelta(minutes=50), tick=False)
        api_token_revoke(token=token, actor=doctor)
        _read(doctor, late, START + dt.timedelta(hours=2))
        clock.move_to(CLINIC_MORNING, tick=False)
        breach = incident(
            clinic_a, discovered_at=CLINIC_MORNING, kind=BreachIncident.Kind.API_TOKEN, token=token,
            occurred_from=START - dt.timedelta(days=1),
        )  # fmt: skip
        breach = breach_compute_affected(incident=breach, actor=owner(clinic_a))
        assert _listed(breach) == {during.pk}
        assert "not the token" in breach.affected_derivation and "Lab integration" in breach.affected_derivation


def test_hand_corrections_survive_a_recomputation(clinic_a, clock):
    read, added = make_patient(clinic_a), make_patient(clinic_a, given_name="Manual")
    with tenant_context(clinic_a.clinic):
        account = User.objects.get(pk=clinic_a.users["front_desk"].pk)
        _read(account, read, START + dt.timedelta(minutes=5))
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING, account=account, occurred_from=START)
        breach_compute_affected(incident=breach, actor=owner(clinic_a))
        breach_add_patient(incident=breach, actor=owner(clinic_a), patient=added)
        breach_remove_patient(incident=breach, actor=owner(clinic_a), patient_id=read.pk)
        assert _listed(breach) == {added.pk}
        breach_compute_affected(incident=breach, actor=owner(clinic_a))
        assert _listed(breach) == {added.pk}  # the removed one stays removed, the added one stays
        breach_add_patient(incident=breach, actor=owner(clinic_a), patient=read)
        assert _listed(breach) == {added.pk, read.pk}
        with pytest.raises(ValidationError, match="already on the list"):
            breach_add_patient(incident=breach, actor=owner(clinic_a), patient=read)
        actions = list(
            AuditEvent.objects.filter(object_id=str(breach.pk), action__startswith="privacy.breach_affected")
            .order_by("seq")
            .values_list("action", "metadata")
        )
        assert ("privacy.breach_affected_remove", {"patient": str(read.pk)}) in actions


def test_kinds_without_a_trace_in_the_logs_are_added_by_hand(clinic_a, clock):
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=CLINIC_MORNING, kind=BreachIncident.Kind.LOST_DEVICE)
        with pytest.raises(ValidationError, match="add the patients by hand"):
            breach_compute_affected(incident=breach, actor=owner(clinic_a))
        account_breach = incident(clinic_a, discovered_at=CLINIC_MORNING)
        with pytest.raises(ValidationError):  # no start: the logs cannot be searched
            breach_compute_affected(incident=account_breach, actor=owner(clinic_a))
