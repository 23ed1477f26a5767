"""The audit log page (/settings/audit/) and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from clinics.models import Clinic

URL = "/settings/audit/"
EXPORT_URL = "/settings/audit/export.csv"


def _record(seeded, in_tenant, *, action: str, role: str = "doctor", n: int = 1, at=None, **extra) -> list[AuditEvent]:
    user = seeded.users[role] if role else None
    events = []
    with in_tenant(seeded):
        for _ in range(n):
            if at is not None:
                with mock.patch("django.utils.timezone.now", return_value=at):
                    events.append(audit_record(actor=user, action=action, **extra))
            else:
                events.append(audit_record(actor=user, action=action, **extra))
    return events


def _csv(response) -> list[list[str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_owner_sees_events_newest_first_with_actor_action_object_fields_and_ip(clinic_a, client_for, in_tenant):
    doctor = clinic_a.users["doctor"]
    _record(clinic_a, in_tenant, action="test.first")
    with in_tenant(clinic_a):
        audit_record(
            actor=doctor,
            action="test.second",
            obj=doctor,
            changed_fields=["phone", "full_name"],
            request=mock.Mock(META={"REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": "UA"}),
        )
    response = client_for(clinic_a, "owner").get(URL, {"action": "test"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("test.second") < html.index("test.first")
    assert doctor.email in html
    assert "accounts.user" in html and str(doctor.pk) in html
    assert "full_name, phone" in html
    assert "198.51.100.23" in html
    assert 'class="active" aria-current="page">Audit log</a>' in html  # the console's tab


def test_times_are_shown_in_the_clinics_time_zone(clinic_a, client_for, in_tenant):
    at = dt.datetime(2025, 1, 15, 20, 0, tzinfo=dt.UTC)
    _record(clinic_a, in_tenant, action="test.tz", at=at)
    client = client_for(clinic_a, "owner")
    html = client.get(URL, {"action": "test.tz"}).content.decode()
    assert "16 Jan 2025, 01:30:00" in html  # Asia/Kolkata, the default
    assert "Asia/Kolkata" in html
    Clinic.objects.filter(pk=clinic_a.clinic.pk).update(timezone="America/New_York")
    html = client.get(URL, {"action": "test.tz"}).content.decode()
    assert "15 Jan 2025, 15:00:00" in html


def test_filters_by_actor_action_and_dates(clinic_a, client_for, in_tenant, clock):
    # "today" in the clinic's zone: pinned (tests/clock.py), so events and the filter fall on one day.
    doctor, nurse = clinic_a.users["doctor"], clinic_a.users["nurse"]
    _record(clinic_a, in_tenant, action="filt.old", role="doctor", at=timezone.now() - dt.timedelta(days=10))
    _record(clinic_a, in_tenant, action="filt.doctor", role="doctor")
    _record(clinic_a, in_tenant, action="filt.nurse", role="nurse")
    _record(clinic_a, in_tenant, action="filt.system", role="")
    _record(clinic_a, in_tenant, action="filtered.not.prefix", role="doctor")
    client = client_for(clinic_a, "owner")

    def actions(**params) -> set[str]:
        response = client.get(URL, params)
        assert response.status_code == 200
        return {e.action for e in response.context["page"].object_list}

    assert actions(action="filt") == {"filt.old", "filt.doctor", "filt.nurse", "filt.system"}
    assert actions(action="filt.nurse") == {"filt.nurse"}
    assert actions(action="filt", actor=str(doctor.pk)) == {"filt.old", "filt.doctor"}
    assert actions(action="filt", actor=str(nurse.pk)) == {"filt.nurse"}
    assert actions(action="filt", actor="system") == {"filt.system"}
    today = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    assert actions(action="filt", date_from=today.isoformat()) == {"filt.doctor", "filt.nurse", "filt.system"}
    old_day = (today - dt.timedelta(days=10)).isoformat()
    assert actions(action="filt", date_from=old_day, date_to=old_day) == {"filt.old"}


def test_invalid_date_range_shows_a_clear_message(clinic_a, client_for):
    response = client_for(clinic_a, "owner").get(URL, {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 200
    assert "The end date must be on or after the start date." in response.content.decode()
    assert response.context["page"] is None


def test_empty_state_when_nothing_matches(clinic_a, client_for):
    response = client_for(clinic_a, "owner").get(URL, {"action": "nothing.matches"})
    assert "No audit events match these filters." in response.content.decode()


def test_paginates_fifty_per_page_newest_first(clinic_a, client_for, in_tenant):
    events = _record(clinic_a, in_tenant, action="page.test", n=120)
    client = client_for(clinic_a, "owner")
    first = client.get(URL, {"action": "page.test"})
    page = first.context["page"]
    assert page.paginator.count == 120
    assert [e.seq for e in page.object_list] == [e.seq for e in reversed(events)][:50]
    assert "page=2" in first.content.decode() and "action=page.test" in first.content.decode()
    last = client.get(URL, {"action": "page.test", "page": 3}).context["page"]
    assert [e.seq for e in last.object_list] == [e.seq for e in reversed(events)][100:]


def test_csv_export_streams_the_filtered_set_and_is_audited(clinic_a, client_for, in_tenant):
    owner = clinic_a.users["owner"]
    wanted = _record(clinic_a, in_tenant, action="csv.wanted", n=3, changed_fields=["email", "phone"])
    _record(clinic_a, in_tenant, action="csv.other")
    response = client_for(clinic_a, "owner").get(EXPORT_URL, {"action": "csv.wanted"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-alpha-')
    rows = _csv(response)
    assert rows[0][:5] == ["seq", "time", "actor", "actor_id", "action"]
    assert [int(r[0]) for r in rows[1:]] == [e.seq for e in reversed(wanted)]
    assert {r[4] for r in rows[1:]} == {"csv.wanted"}
    assert rows[1][8] == "email;phone"
    assert rows[1][1].endswith("+05:30")  # clinic time zone
    with in_tenant(clinic_a):
        export = AuditEvent.objects.filter(action="audit.export").latest("seq")
    assert export.actor_id == owner.pk
    assert export.metadata == {"filters": {"action": "csv.wanted"}}
    assert export.ip == "127.0.0.1"


def test_csv_export_neutralises_spreadsheet_formulas(clinic_a, client_for, in_tenant):
    _record(
        clinic_a,
        in_tenant,
        action="csv.formula",
        request=mock.Mock(META={"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": '=HYPERLINK("http://evil")'}),
    )
    rows = _csv(client_for(clinic_a, "owner").get(EXPORT_URL, {"action": "csv.formula"}))
    assert rows[1][10] == '\'=HYPERLINK("http://evil")'


def test_csv_export_rejects_invalid_filters(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "owner").get(EXPORT_URL, {"date_from": "not-a-date"})
    assert response.status_code == 400
    with in_tenant(clinic_a):
        assert not AuditEvent.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("path", [URL, EXPORT_URL])
def test_front_desk_cannot_view_or_export_the_audit_log(clinic_a, client_for, in_tenant, path):
    response = client_for(clinic_a, "front_desk").get(path)
    assert response.status_code == 403
    with in_tenant(clinic_a):
        assert not AuditEvent.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("path", [URL, EXPORT_URL])
def test_anonymous_visitors_are_sent_to_sign_in(clinic_a, client_for, path):
    response = client_for(clinic_a).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_administrator_with_audit_view_can_read_the_log(clinic_a, client_for):
    assert client_for(clinic_a, "administrator").get(URL).status_code == 200


def test_other_clinics_events_are_not_visible(clinic_a, clinic_b, client_for, in_tenant):
    _record(clinic_b, in_tenant, action="only.in.beta")
    _record(clinic_a, in_tenant, action="only.in.alpha")
    client = client_for(clinic_a, "owner")
    page = client.get(URL).context["page"]
    assert "only.in.beta" not in {e.action for e in page.object_list}
    assert "only.in.alpha" in {e.action for e in page.object_list}
    assert "only.in.beta" not in client.get(URL, {"action": "only"}).content.decode()
    rows = _csv(client.get(EXPORT_URL))
    assert "only.in.beta" not in {r[4] for r in rows[1:]}
    assert "only.in.alpha" in {r[4] for r in rows[1:]}
