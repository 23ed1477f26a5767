"""The platform console at /platform/ on the public domain: platform staff only (sign-in with a TOTP
step, audited in the public schema), clinics with their plan, Razorpay state, access, seats and next
charge, one clinic's history, payments and DocOS invoices, plans, failed payments; never on a
clinic's host, never patient data."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from audit.models import AuditEvent
from billing import fake_razorpay_subscriptions as rzp_subs
from clinics import platform_selectors, subscriptions
from clinics.models import PlatformInvoice, Subscription
from tests.clinics.platform_helpers import PLATFORM_PASSWORD, PLATFORM_TOTP, public_client, totp_now
from tests.clinics.subscription_helpers import deliver_all, make_plan

pytestmark = pytest.mark.usefixtures("clock")


def _failing_subscription(seeded: Any, platform: Any, clock: Any) -> Subscription:
    """A paid first month, then a failed renewal (grace period)."""
    sub = subscriptions.subscription_start(clinic=seeded.clinic, plan=make_plan(), seats=2, actor=seeded.users["owner"])
    connection.set_schema_to_public()
    deliver_all(rzp_subs.authenticate(platform, sub.razorpay_subscription_id))
    clock.shift(dt.timedelta(days=30))
    deliver_all(rzp_subs.fail_charge(platform, sub.razorpay_subscription_id))
    return Subscription.objects.get(pk=sub.pk)


# --- who gets in -----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_platform_sign_in(db):
    response = public_client().get("/platform/plans/")
    assert response.status_code == 302
    assert response["Location"] == "/platform/login/?next=/platform/plans/"


def test_a_public_user_who_is_not_platform_staff_gets_403(public_non_staff):
    assert public_client(public_non_staff).get("/platform/").status_code == 403


def test_the_console_does_not_exist_on_a_clinic_host(clinic_a, client_for):
    owner = client_for(clinic_a, "owner")
    for path in ("/platform/", "/platform/login/", "/platform/plans/", f"/platform/clinics/{clinic_a.clinic.slug}/"):
        assert owner.get(path).status_code == 404, path


def test_platform_staff_sign_in_with_password_then_totp_and_it_is_audited(platform_staff):
    client = public_client()
    first = client.post(
        "/platform/login/?next=/platform/plans/",
        {"email": "OPS@docos.test", "password": PLATFORM_PASSWORD, "next": "/platform/plans/"},
    )
    assert first.status_code == 302 and first["Location"] == "/platform/login/two-factor/"
    assert client.get("/platform/plans/").status_code == 302  # not signed in before the code
    wrong = client.post("/platform/login/two-factor/", {"code": "000000" if totp_now() != "000000" else "111111"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = client.post("/platform/login/two-factor/", {"code": totp_now()})
    assert done.status_code == 302 and done["Location"] == "/platform/plans/"
    assert client.get("/platform/plans/").status_code == 200
    connection.set_schema_to_public()
    actions = list(AuditEvent.objects.filter(object_id=str(platform_staff.pk)).values_list("action", flat=True))
    assert "auth.login" in actions and "auth.login_failed" in actions
    assert client.post("/platform/logout/").status_code == 302
    assert client.get("/platform/").status_code == 302


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(platform_staff):
    for email in ("ops@docos.test", "nobody@docos.test"):
        response = public_client().post("/platform/login/", {"email": email, "password": "not-the-password-99"})
        assert response.status_code == 400 and "do not match" in response.content.decode()


def test_a_correct_password_of_a_non_platform_account_does_not_open_the_console(public_non_staff):
    client = public_client()
    response = client.post("/platform/login/", {"email": public_non_staff.email, "password": PLATFORM_PASSWORD})
    assert response.status_code == 400 and "platform staff only" in response.content.decode()
    assert client.get("/platform/login/two-factor/").status_code == 302  # no pending second step
    assert client.get("/platform/").status_code == 302


def test_platform_staff_without_totp_cannot_sign_in(platform_staff):
    User.objects.filter(pk=platform_staff.pk).update(totp_confirmed_at=None)
    response = public_client().post("/platform/login/", {"email": platform_staff.email, "password": PLATFORM_PASSWORD})
    assert response.status_code == 400 and "two-factor" in response.content.decode()


def test_next_never_leaves_the_console(platform_staff):
    client = public_client()
    client.post(
        "/platform/login/", {"email": platform_staff.email, "password": PLATFORM_PASSWORD, "next": "//evil.example"}
    )
    assert client.post("/platform/login/two-factor/", {"code": totp_now()})["Location"] == "/platform/"


# --- pages -----------------------------------------------------------------------------------------


def test_clinic_list_shows_plan_state_access_seats_and_next_charge(clinic_a, clinic_b, platform, platform_staff, clock):
    sub = _failing_subscription(clinic_a, platform, clock)
    page = public_client(platform_staff).get("/platform/")
    assert page.status_code == 200
    rows = {row["slug"]: row for row in page.context["rows"]}
    assert rows["alpha"]["plan"].code == "clinic-monthly" and rows["alpha"]["status"] == "pending"
    assert rows["alpha"]["access"] == "grace" and rows["alpha"]["seats"] == 2
    assert rows["alpha"]["seats_in_use"] == subscriptions.seats_in_use(clinic_a.clinic, sub.plan) == 2  # owner, doctor
    assert rows["alpha"]["next_charge"] == sub.charge_at
    assert rows["beta"]["subscription"] is None
    html = page.content.decode()
    assert "Alpha Clinic" in html and "Grace period" in html and "2 / 2" in html and "No subscription" in html


def test_clinic_list_searches_name_and_address_and_says_when_nothing_matches(clinic_a, clinic_b, platform_staff):
    client = public_client(platform_staff)
    assert [r["slug"] for r in client.get("/platform/", {"q": "hospital"}).context["rows"]] == ["beta"]
    assert [r["slug"] for r in client.get("/platform/", {"q": "ALPH"}).context["rows"]] == ["alpha"]
    empty = client.get("/platform/", {"q": "zzz-no-such"})
    assert empty.context["rows"] == [] and "No clinic" in empty.content.decode()


def test_clinic_list_is_paginated(clinic_a, clinic_b, platform_staff, monkeypatch):
    monkeypatch.setattr(platform_selectors, "PAGE_SIZE", 1)
    client = public_client(platform_staff)
    first = client.get("/platform/")
    assert [r["slug"] for r in first.context["rows"]] == ["alpha"] and first.context["page"].paginator.num_pages >= 2
    assert [r["slug"] for r in client.get("/platform/", {"page": 2}).context["rows"]] == ["beta"]


def test_clinic_detail_shows_history_payments_with_reasons_and_invoice_pdfs(clinic_a, platform, platform_staff, clock):
    _failing_subscription(clinic_a, platform, clock)
    client = public_client(platform_staff)
    page = client.get("/platform/clinics/alpha/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "insufficient balance" in html.lower()  # the failed payment's reason
    actions = [item["action"] for item in page.context["history"]]
    assert "subscription.start" in actions and "subscription.state" in actions
    invoice = PlatformInvoice.objects.get(payment__subscription__clinic=clinic_a.clinic)
    assert f"/platform/invoices/{invoice.number}.pdf" in html
    pdf = client.get(f"/platform/invoices/{invoice.number}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/platform/invoices/DOS9999-000001.pdf").status_code == 404
    assert client.get("/platform/clinics/no-such-clinic/").status_code == 404


def test_the_console_reads_no_patient_data(clinic_a, platform, platform_staff, clock):
    _failing_subscription(clinic_a, platform, clock)
    client = public_client(platform_staff)
    with CaptureQueriesContext(connection) as queries:
        for path in ("/platform/", "/platform/clinics/alpha/", "/platform/plans/", "/platform/failed-payments/"):
            assert client.get(path).status_code == 200, path
    patient_tables = re.compile(
        r'(FROM|JOIN) "(patients|clinical|billing|documents|appointments|messaging|imaging|privacy)_'
    )
    touched = [q["sql"] for q in queries.captured_queries if patient_tables.search(q["sql"])]
    assert touched == []


def test_plans_page_lists_plans_with_their_subscriptions(clinic_a, platform, platform_staff, clock):
    _failing_subscription(clinic_a, platform, clock)
    page = public_client(platform_staff).get("/platform/plans/")
    plan = next(iter(page.context["page"]))
    assert plan.code == "clinic-monthly" and plan.live_count == 1 and plan.subscription_count == 1
    assert "Clinic monthly" in page.content.decode()


def test_plans_page_says_when_there_are_none(platform_staff):
    assert "No plans yet" in public_client(platform_staff).get("/platform/plans/").content.decode()


def test_failed_payments_of_the_last_n_days(clinic_a, platform, platform_staff, clock):
    _failing_subscription(clinic_a, platform, clock)
    client = public_client(platform_staff)
    recent = client.get("/platform/failed-payments/")
    assert len(recent.context["page"].object_list) == 1 and "Alpha Clinic" in recent.content.decode()
    assert len(client.get("/platform/failed-payments/", {"q": "beta"}).context["page"].object_list) == 0
    clock.shift(dt.timedelta(days=3))
    client = public_client(platform_staff)  # the session has ended meanwhile (idle timeout)
    assert len(client.get("/platform/failed-payments/", {"days": 2}).context["page"].object_list) == 0
    empty = client.get("/platform/failed-payments/", {"days": 2})
    assert "No failed payments" in empty.content.decode()
    assert len(client.get("/platform/failed-payments/", {"days": 5}).context["page"].object_list) == 1


# --- the command that makes platform staff --------------------------------------------------------


def test_platform_staff_create_makes_a_platform_account_with_totp(db):
    out = StringIO()
    call_command("platform_staff_create", "Ops2@DocOS.test", "--password", PLATFORM_PASSWORD, stdout=out)
    connection.set_schema_to_public()
    user = User.objects.get(email="ops2@docos.test")
    assert user.is_platform_staff and user.totp_enabled and user.check_password(PLATFORM_PASSWORD)
    assert str(user.totp_secret) in out.getvalue() and "otpauth://" in out.getvalue()
    again = StringIO()
    call_command("platform_staff_create", "ops2@docos.test", stdout=again)  # keeps password and TOTP
    user.refresh_from_db()
    assert user.check_password(PLATFORM_PASSWORD) and "TOTP secret" not in again.getvalue()
    call_command("platform_staff_create", "ops2@docos.test", "--reset-totp", stdout=StringIO())
    user.refresh_from_db()
    assert user.totp_secret != PLATFORM_TOTP and user.totp_enabled


def test_platform_staff_create_refuses_a_weak_password(db):
    with pytest.raises(CommandError):
        call_command("platform_staff_create", "ops3@docos.test", "--password", "short", stdout=StringIO())


def test_an_idle_platform_session_ends_and_returns_to_the_platform_sign_in(platform_staff, clock):
    client = public_client()
    client.post("/platform/login/", {"email": platform_staff.email, "password": PLATFORM_PASSWORD})
    assert client.post("/platform/login/two-factor/", {"code": totp_now()}).status_code == 302
    assert client.get("/platform/plans/").status_code == 200
    clock.shift(dt.timedelta(minutes=16))  # past the default idle timeout (15 minutes)
    response = client.get("/platform/plans/")
    assert response.status_code == 302 and response["Location"] == "/platform/login/?next=%2Fplatform%2Fplans%2F"
    connection.set_schema_to_public()
    assert AuditEvent.objects.filter(action="auth.session_expired", object_id=str(platform_staff.pk)).exists()


def test_a_failed_platform_sign_in_opens_on_an_error_summary_linked_to_each_field(db):
    from tests.docos.test_form_accessibility import Elements

    response = public_client().post("/platform/login/", {"email": "not-an-email", "password": ""})
    assert response.status_code == 400
    page = Elements(response.content.decode())
    assert page.dangling() == []
    links = dict(page.links)
    assert "#id_email" in links and "#id_password" in links
    assert page.by_name("email")["aria-invalid"] == "true" and page.by_name("password")["aria-invalid"] == "true"
