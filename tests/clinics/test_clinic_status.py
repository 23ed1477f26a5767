"""A suspended clinic keeps every row but its staff and API are refused until reactivation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from audit.models import AuditEvent
from clinics.models import Clinic
from clinics.services import clinic_set_status


def _counts(seeded) -> tuple[int, int, int]:
    with tenant_context(seeded.clinic):
        return User.objects.count(), Location.objects.count(), Role.objects.count()


def _suspend(seeded, **kwargs) -> None:
    clinic_set_status(clinic=Clinic.objects.get(pk=seeded.clinic.pk), status="suspended", **kwargs)


def test_staff_of_a_suspended_clinic_see_the_suspended_page(clinic_a, client_for):
    doctor = client_for(clinic_a, "doctor")
    assert doctor.get("/").status_code == 200
    _suspend(clinic_a)
    for path in ("/", "/settings/", "/account/", "/login"):
        response = doctor.get(path)
        assert response.status_code == 403, path
        assert b"Account suspended" in response.content
        assert b"No data has been deleted" in response.content
    anonymous = client_for(clinic_a).get("/login")
    assert anonymous.status_code == 403 and b"Account suspended" in anonymous.content


def test_api_of_a_suspended_clinic_answers_clinic_suspended(clinic_a, client_for):
    owner = client_for(clinic_a, "owner")
    assert owner.get("/api/v1/me").status_code == 200
    _suspend(clinic_a)
    response = owner.get("/api/v1/me")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "clinic_suspended"
    assert error["message"] == "This clinic's DocOS account is suspended."
    assert error["fields"] == {}
    assert client_for(clinic_a).post("/api/v1/staff", {}).json()["error"]["code"] == "clinic_suspended"


def test_closing_clinic_is_refused_like_a_suspended_one(clinic_a, client_for):
    clinic_set_status(clinic=clinic_a.clinic, status="closing")
    response = client_for(clinic_a, "owner").get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This clinic's DocOS account is closing."


def test_suspension_deletes_nothing_and_reactivation_restores_access(clinic_a, client_for):
    before = _counts(clinic_a)
    doctor = client_for(clinic_a, "doctor")
    _suspend(clinic_a)
    assert doctor.get("/").status_code == 403
    assert _counts(clinic_a) == before
    clinic_set_status(clinic=clinic_a.clinic, status="active")
    assert doctor.get("/").status_code == 200  # the same session works again
    assert doctor.get("/api/v1/me").status_code == 200
    assert _counts(clinic_a) == before


def test_suspending_one_clinic_leaves_the_other_alone(clinic_a, clinic_b, client_for):
    _suspend(clinic_a)
    assert client_for(clinic_b, "doctor").get("/").status_code == 200


def test_sign_out_still_works_while_suspended(clinic_a, client_for):
    doctor = client_for(clinic_a, "doctor")
    _suspend(clinic_a)
    assert doctor.post("/logout").status_code != 403


def test_status_changes_are_audited_in_the_clinic_log(clinic_a):
    _suspend(clinic_a, reason="unpaid invoice")
    clinic_set_status(clinic=clinic_a.clinic, status="active")
    with tenant_context(clinic_a.clinic):
        events = list(AuditEvent.objects.filter(action="clinic.status").order_by("seq"))
    assert [e.metadata for e in events] == [
        {"from": "active", "to": "suspended", "reason": "unpaid invoice"},
        {"from": "suspended", "to": "active"},
    ]
    assert all(e.object_type == "clinics.clinic" and e.object_id == str(clinic_a.clinic.pk) for e in events)
    assert all(e.changed_fields == ["status"] for e in events)


def test_setting_the_same_status_writes_nothing(clinic_a):
    clinic_set_status(clinic=clinic_a.clinic, status="active")
    with tenant_context(clinic_a.clinic):
        assert not AuditEvent.objects.filter(action="clinic.status").exists()


def test_unknown_status_is_rejected(clinic_a):
    with pytest.raises(ValidationError) as exc:
        clinic_set_status(clinic=clinic_a.clinic, status="deleted")
    assert "status" in exc.value.message_dict
    assert Clinic.objects.get(pk=clinic_a.clinic.pk).status == "active"


def test_suspend_and_activate_commands(clinic_a, client_for):
    out = StringIO()
    call_command("clinic_suspend", slug="alpha", reason="chargeback", stdout=out)
    assert "Clinic alpha is now suspended (was active)." in out.getvalue()
    assert Clinic.objects.get(slug="alpha").status == "suspended"
    assert client_for(clinic_a, "owner").get("/").status_code == 403
    call_command("clinic_suspend", slug="alpha", stdout=out)
    assert "already suspended" in out.getvalue()
    call_command("clinic_activate", slug="alpha", stdout=out)
    assert "Clinic alpha is now active (was suspended)." in out.getvalue()
    assert client_for(clinic_a, "owner").get("/").status_code == 200
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="clinic.status").count() == 2


def test_status_command_for_unknown_clinic_fails(db):
    with pytest.raises(CommandError, match="No clinic with the address 'nowhere'"):
        call_command("clinic_suspend", slug="nowhere")
