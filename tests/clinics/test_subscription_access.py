"""The clinic site under DocOS dunning, and the console's Subscription page: read-only refuses
writes with a page that says why (views and exports still work), suspended opens only the
subscription page, paying restores access at once; only settings.manage reaches the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from billing import fake_razorpay_subscriptions as rzp_subs
from clinics import subscriptions
from clinics.models import Subscription
from tests.clinics.subscription_helpers import deliver_all, make_plan

pytestmark = pytest.mark.usefixtures("clock")


def active_subscription(seeded: Any, platform: Any) -> Subscription:
    plan = make_plan()
    sub = subscriptions.subscription_start(clinic=seeded.clinic, plan=plan, seats=2, actor=seeded.users["owner"])
    connection.set_schema_to_public()
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id))
    return Subscription.objects.get(pk=sub.pk)


def set_access(sub: Subscription, access: str, clock: Any, platform: Any) -> None:
    """Fail the renewal and let the clock run until the clinic reaches `access`."""
    clock.shift(dt.timedelta(days=30))
    deliver_all(rzp_subs.fail_charge(platform, sub.razorpay_subscription_id))
    clock.shift(dt.timedelta(days={"grace": 0, "read_only": 8, "suspended": 30}[access]))
    subscriptions.subscription_dunning_tick()
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=sub.pk).access == access


@pytest.fixture
def paid(clinic_a: Any, platform: Any) -> Subscription:
    return active_subscription(clinic_a, platform)


def test_owner_sees_plan_state_seats_and_next_charge(clinic_a, paid, client_for):
    page = client_for(clinic_a, "owner").get("/settings/subscription/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Clinic monthly" in html and "Change seats" in html and "Cancel subscription" in html
    assert paid.charge_at is not None and paid.charge_at.strftime("%Y") in html


@pytest.mark.parametrize("role", ["doctor", "front_desk", "no_role"])
def test_staff_without_settings_manage_cannot_open_or_change_the_subscription(clinic_a, paid, client_for, role):
    client = client_for(clinic_a, role)
    assert client.get("/settings/subscription/").status_code in (403, 404)
    assert client.post("/settings/subscription/seats/", {"seats": 9}).status_code in (403, 404)
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=paid.pk).seats == 2


def test_owner_subscribes_from_the_console_and_is_sent_to_the_checkout(clinic_b, platform, client_for):
    plan = make_plan(code="clinic-yearly")
    response = client_for(clinic_b, "owner").post("/settings/subscription/start/", {"plan": plan.pk, "seats": 2})
    connection.set_schema_to_public()
    sub = Subscription.objects.get(clinic=clinic_b.clinic)
    assert response.status_code == 302 and response["Location"] == sub.short_url
    assert sub.status == Subscription.Status.CREATED and sub.seats == 2


def test_subscribing_with_zero_seats_is_refused_with_a_sentence(clinic_b, platform, client_for):
    plan = make_plan(code="clinic-yearly")
    response = client_for(clinic_b, "owner").post("/settings/subscription/start/", {"plan": plan.pk, "seats": 0})
    assert response.status_code == 400 and "greater than or equal to 1" in response.content.decode()
    connection.set_schema_to_public()
    assert not Subscription.objects.filter(clinic=clinic_b.clinic).exists()


def test_owner_changes_seats_from_the_console(clinic_a, paid, client_for, platform):
    response = client_for(clinic_a, "owner").post("/settings/subscription/seats/", {"seats": 4})
    assert response.status_code == 302
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=paid.pk).seats == 4
    assert [r.body for r in platform.requests if r.method == "PATCH"] == [{"quantity": 4, "schedule_change_at": "now"}]


def test_grace_changes_nothing_for_staff(clinic_a, paid, client_for, clock, platform):
    set_access(paid, "grace", clock, platform)
    desk = client_for(clinic_a, "front_desk")
    assert desk.get("/patients/").status_code == 200
    assert desk.post("/patients/new", {}).status_code != 403


def test_read_only_clinic_can_view_but_not_create_and_is_told_why(clinic_a, paid, client_for, clock, platform):
    set_access(paid, "read_only", clock, platform)
    desk = client_for(clinic_a, "front_desk")
    assert desk.get("/patients/").status_code == 200
    refused = desk.post("/patients/new", {"given_name": "Asha"})
    assert refused.status_code == 403 and "read-only" in refused.content.decode()
    owner = client_for(clinic_a, "owner")
    assert owner.get("/settings/subscription/").status_code == 200
    assert owner.post("/logout").status_code in (200, 302)


def test_read_only_api_writes_get_a_json_error(clinic_a, paid, client_for, clock, platform):
    set_access(paid, "read_only", clock, platform)
    answer = client_for(clinic_a, "front_desk").post("/api/v1/patients", {}, content_type="application/json")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "subscription_read_only"


def test_suspended_clinic_opens_only_the_subscription_page_and_sign_in(clinic_a, paid, client_for, clock, platform):
    set_access(paid, "suspended", clock, platform)
    owner = client_for(clinic_a, "owner")
    assert owner.get("/patients/").status_code == 403
    assert owner.get("/settings/subscription/").status_code == 200
    assert client_for(clinic_a).get("/login").status_code == 200


def test_paying_restores_a_suspended_clinic_at_once(clinic_a, paid, client_for, clock, platform):
    set_access(paid, "suspended", clock, platform)
    deliver_all(rzp_subs.charge(platform, paid.razorpay_subscription_id))
    assert client_for(clinic_a, "front_desk").get("/patients/").status_code == 200


def test_another_clinics_dunning_does_not_touch_this_clinic(clinic_a, clinic_b, paid, client_for, clock, platform):
    set_access(paid, "suspended", clock, platform)
    assert client_for(clinic_b, "front_desk").get("/patients/").status_code == 200


def test_a_seat_change_razorpay_refuses_for_upi_autopay_is_shown_as_its_sentence(clinic_b, platform, client_for):
    sub = subscriptions.subscription_start(
        clinic=clinic_b.clinic, plan=make_plan(code="upi-plan"), seats=2, actor=clinic_b.users["owner"]
    )
    connection.set_schema_to_public()
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id, method="upi"))
    owner = client_for(clinic_b, "owner")
    response = owner.post("/settings/subscription/seats/", {"seats": 5}, follow=True)
    assert "cannot be updated when payment mode is UPI" in response.content.decode()
    connection.set_schema_to_public()
    assert Subscription.objects.get(pk=sub.pk).seats == 2
