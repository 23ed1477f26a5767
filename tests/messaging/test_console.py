"""Settings -> WhatsApp: settings.manage only; the token is stored encrypted and never shown; the
routing table follows; the test message shows WhatsApp's real answer."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from clinics.models import VendorRoute
from messaging.models import WhatsAppAccount
from tests.messaging.conftest import PHONE_ID_A

FORM = {
    "waba_id": "102290129340398",
    "phone_number_id": PHONE_ID_A,
    "display_number": "+91 80 4123 4567",
    "access_token": "EAAG-secret-token",
    "is_enabled": "on",
}


def test_the_owner_connects_the_clinic_number(clinic_a, client_for, graph):
    client = client_for(clinic_a, "owner")
    assert client.get("/settings/whatsapp/").status_code == 200
    response = client.post("/settings/whatsapp/", FORM)
    assert response.status_code == 302
    page = client.get("/settings/whatsapp/").content.decode()
    assert "EAAG-secret-token" not in page and "A token is stored" in page
    with tenant_context(clinic_a.clinic):
        account = WhatsAppAccount.objects.get()
        assert (account.phone_number_id, account.access_token, account.is_enabled) == (
            PHONE_ID_A, "EAAG-secret-token", True,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("SELECT access_token FROM messaging_whatsappaccount")
            assert b"EAAG" not in bytes(cursor.fetchone()[0])
    connection.set_schema_to_public()
    assert VendorRoute.objects.get(account_id=PHONE_ID_A).clinic_id == clinic_a.clinic.pk
    # Saving again without a token keeps the stored one.
    client.post("/settings/whatsapp/", {**FORM, "access_token": "", "display_number": "+91 80 4123 0000"})
    with tenant_context(clinic_a.clinic):
        assert WhatsAppAccount.objects.get().access_token == "EAAG-secret-token"


def test_switching_on_without_credentials_is_refused(clinic_a, client_for, graph):
    response = client_for(clinic_a, "owner").post("/settings/whatsapp/", {**FORM, "access_token": ""})
    assert response.status_code == 400 and b"access token" in response.content


def test_the_test_message_shows_the_real_result(clinic_a, client_for, graph):
    client = client_for(clinic_a, "owner")
    client.post("/settings/whatsapp/", FORM)
    response = client.post("/settings/whatsapp/test/", {"to_number": "98450 12345"}, follow=True)
    assert b"Test message sent" in response.content and b"wamid." in response.content
    graph.script(status=400, code=131026)
    response = client.post("/settings/whatsapp/test/", {"to_number": "98450 12345"}, follow=True)
    assert b"The test message failed: 131026" in response.content


def test_front_desk_cannot_change_whatsapp_settings(clinic_a, client_for, graph):
    client = client_for(clinic_a, "front_desk")
    assert client.get("/settings/whatsapp/").status_code == 403
    assert client.post("/settings/whatsapp/", FORM).status_code == 403
    assert client.post("/settings/whatsapp/test/", {"to_number": "98450 12345"}).status_code == 403


def test_the_console_counts_the_months_messages_per_pricing_category(clinic_a, client_for, clock):
    """Counted by the month sent in India: 00:30 on 1 December in India is December, though it is
    still 30 November in UTC; the clock is pinned to 9 December 2026."""
    import datetime as dt

    from messaging.models import OutboundMessage
    from messaging.selectors import whatsapp_usage
    from tests.clock import IST

    def sent(key: str, at: dt.datetime, category: str, status: str = "read") -> None:
        OutboundMessage.objects.create(
            idempotency_key=key, status=status, sent_at=at, pricing_category=category, template_name="t"
        )

    december = dt.datetime(2026, 12, 1, 0, 30, tzinfo=IST)
    november = dt.datetime(2026, 11, 30, 23, 30, tzinfo=IST)
    with tenant_context(clinic_a.clinic):
        for n in range(3):
            sent(f"u{n}", december + dt.timedelta(days=n), "utility")
        sent("s1", december, "service")
        sent("m1", december, "marketing")
        sent("x1", december, "")  # no receipt yet
        sent("old", november, "utility")
        OutboundMessage.objects.create(idempotency_key="f1", status="failed", failed_at=december, error="131026")
        this_month, last_month = whatsapp_usage()
    assert this_month.month == dt.date(2026, 12, 1) and last_month.month == dt.date(2026, 11, 1)
    counts = dict(this_month.rows)
    assert counts["Utility (reminders, prescriptions, payment links)"] == 3
    assert counts["Service (replies within 24 hours)"] == 1 and counts["Marketing"] == 1
    assert counts["Authentication"] == 0
    assert (this_month.unreported, this_month.failed, this_month.total) == (1, 1, 6)
    assert dict(last_month.rows)["Utility (reminders, prescriptions, payment links)"] == 1
    html = client_for(clinic_a, "owner").get("/settings/whatsapp/").content.decode()
    assert "December 2026" in html and "November 2026" in html and "Category not reported yet" in html


def test_the_page_title_is_plain_text_and_the_usage_table_shows_once(clinic_a, client_for):
    html = client_for(clinic_a, "owner").get("/settings/whatsapp/").content.decode()
    title = html[html.index("<title>") + 7 : html.index("</title>")]
    assert "<" not in title and title.startswith("WhatsApp settings")
    assert html.count('id="usage-title"') == 1
