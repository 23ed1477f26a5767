"""Demo WhatsApp conversations for the demo clinic (clinics/demo.py calls `seed` inside its schema,
after the patients and appointments demos).

The clinic's number is connected (a made-up phone number id; `make run` points the Graph API at the
fake server, messaging.fake_graph, so replies from the inbox really go out). The conversations are
history, written as WhatsApp would have left them: a patient confirming a reminder in Hinglish and
asking a question (unread), an English exchange the desk answered (read), a photo of a lab report
(stored encrypted, downloadable), a patient who sent STOP (opted out, with the confirmation), a
prescription notice WhatsApp could not deliver (131026), one that waited more than 24 hours (the
inbox offers a template), and a number that belongs to no patient yet.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection
from django.utils import timezone

from audit.retention import retention_run
from clinics.models import Clinic
from docos.storage import store_encrypted
from messaging import services
from messaging.inbound import OPT_OUT_REPLY
from messaging.models import Contact, InboundMessage, MediaStatus, MessageTemplate, OutboundMessage
from patients.models import Patient

logger = logging.getLogger(__name__)

PHONE_NUMBER_ID = "106540352242922"
Status = OutboundMessage.Status

# A tiny but real PDF: what a patient's photographed or forwarded lab report stands in for.
REPORT_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>"
    b"endobj\n4 0 obj<</Length 62>>stream\nBT /F1 14 Tf 20 100 Td (HbA1c 7.2 %  -  Fasting glucose 126) Tj ET\n"
    b"endstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _contact(patient: Patient | None, wa_id: str, name: str, at: dt.datetime) -> Contact:
    return Contact.objects.create(
        wa_id=wa_id,
        user_id=f"IN.{int(wa_id) * 7 % 10**16:016d}",
        profile={"name": name},
        patient=patient,
        last_inbound_at=at,
        last_message_at=at,
    )


def _inbound(contact: Contact, at: dt.datetime, text: str, *, kind: str = "text", **extra: object) -> InboundMessage:
    return InboundMessage.objects.create(
        contact=contact,
        vendor_message_id=f"wamid.DEMO{InboundMessage.objects.count() + 1:04d}{contact.pk.hex[:8]}",
        kind=kind,
        body=text,
        sent_at=at,
        received_at=at,
        **extra,
    )


def _outbound(
    contact: Contact,
    at: dt.datetime,
    status: str,
    *,
    text: str = "",
    template: str = "",
    parameters: list[str] | None = None,
    error: str = "",
    error_title: str = "",
    purpose: str = OutboundMessage.Purpose.REPLY,
) -> OutboundMessage:
    patient = contact.patient
    key = f"demo:{contact.pk}:{OutboundMessage.objects.count()}"
    message = OutboundMessage(
        patient=patient,
        contact=contact if text else None,
        kind=OutboundMessage.Kind.TEXT if text else OutboundMessage.Kind.TEMPLATE,
        purpose=purpose if text else OutboundMessage.Purpose.NOTIFICATION,
        to_number=contact.phone,
        template_name=template,
        language="en" if template else "",
        parameters=parameters if template else None,
        body=text or None,
        status=status,
        error=error,
        error_title=error_title,
        attempts=1,
        idempotency_key=key,
        vendor_message_id=None if status == Status.FAILED else f"wamid.DEMOOUT{key[-12:]}",
        pricing_category="utility" if template else "service",
        created_at=at,
        sent_at=at if status != Status.FAILED else None,
        delivered_at=at + dt.timedelta(seconds=4) if status in (Status.DELIVERED, Status.READ) else None,
        read_at=at + dt.timedelta(minutes=3) if status == Status.READ else None,
        failed_at=at + dt.timedelta(seconds=5) if status == Status.FAILED else None,
    )
    message.save()
    return message


def _wa(patient: Patient) -> str:
    return patient.contact_number.lstrip("+")


def seed(clinic: Clinic) -> None:
    services.whatsapp_settings_update(
        actor=None,
        waba_id="102290129340398",
        phone_number_id=PHONE_NUMBER_ID,
        display_number="+91 80 4719 2026",
        access_token="demo-access-token",
        is_enabled=True,
    )
    now = timezone.now().replace(microsecond=0)
    reachable = list(
        Patient.objects.filter(
            is_active=True,
            merged_into__isnull=True,
            whatsapp_consent_at__isnull=False,
            whatsapp_opted_out_at__isnull=True,
        )
        .exclude(phone="")
        .order_by("mrn")
    )
    seen: set[str] = set()
    people = []
    for patient in reachable:  # one conversation per number (families share one)
        if patient.contact_number and _wa(patient) not in seen and not patient.is_minor:
            seen.add(_wa(patient))
            people.append(patient)
    if len(people) < 5:
        logger.warning("messaging demo skipped: too few patients with WhatsApp consent")
        return

    # 1. A reminder, confirmed with the button, then a question in Hinglish (unread).
    asha = people[0]
    contact = _contact(asha, _wa(asha), asha.full_name, now - dt.timedelta(minutes=12))
    _outbound(
        contact,
        now - dt.timedelta(hours=20),
        Status.READ,
        template="appointment_reminder_24h",
        parameters=[asha.given_name, "Dr. Ananya Iyer", "tomorrow 10:30", "Koramangala"],
    )
    _inbound(
        contact,
        now - dt.timedelta(hours=19),
        "Confirm",
        kind="button",
        payload={"reply_id": "appointment:confirm"},
    )
    _inbound(
        contact,
        now - dt.timedelta(minutes=12),
        "Namaste doctor, kal ka appointment confirm hai. Kya mujhe khaali pet aana hai blood test ke liye?",
    )

    # 2. English, answered by the desk (read).
    ravi = people[1]
    at = now - dt.timedelta(hours=3)
    contact = _contact(ravi, _wa(ravi), ravi.full_name, at)
    _inbound(contact, at, "Hi, is Dr. Rao available on Saturday evening? My BP readings are higher this week.")
    _outbound(
        contact,
        at + dt.timedelta(minutes=6),
        Status.READ,
        text="Hello! Dr. Vikram Rao sees patients at Indiranagar on Saturday 5-8:30 pm. Please bring your BP diary.",
    )
    _inbound(contact, at + dt.timedelta(minutes=9), "Thank you, I will book for 6 pm.")
    Contact.objects.filter(pk=contact.pk).update(
        read_up_to=at + dt.timedelta(minutes=9), last_message_at=at + dt.timedelta(minutes=9)
    )

    # 3. A photographed report (a document the patient forwarded), stored encrypted (unread).
    meena = people[2]
    at = now - dt.timedelta(minutes=40)
    contact = _contact(meena, _wa(meena), meena.full_name, at)
    stored = store_encrypted(connection.tenant, data=REPORT_PDF, folder="whatsapp")  # type: ignore[attr-defined]
    _inbound(
        contact,
        at,
        "Meri sugar report aa gayi hai, please doctor ko dikha dijiye 🙏",
        kind="document",
        media_id="1092837465019283",
        media_status=MediaStatus.STORED,
        media_content_type="application/pdf",
        media_filename="HbA1c report.pdf",
        media_storage_name=stored.name,
        media_sha256=stored.sha256,
        media_size=stored.size,
    )

    # 4. A prescription notice WhatsApp could not deliver; they last wrote 3 days ago (window closed).
    suresh = people[3]
    at = now - dt.timedelta(days=3)
    contact = _contact(suresh, _wa(suresh), suresh.full_name, at)
    _inbound(contact, at, "Doctor sahab, dawai khatam ho gayi hai. Naya parcha bhej denge?")
    _outbound(contact, at + dt.timedelta(minutes=20), Status.DELIVERED, text="Ji, doctor se baat karke bhejte hain.")
    _outbound(
        contact,
        now - dt.timedelta(hours=2),
        Status.FAILED,
        template="prescription_ready",
        parameters=[suresh.given_name],
        error="131026",
        error_title="Message undeliverable",
    )
    Contact.objects.filter(pk=contact.pk).update(read_up_to=at, last_message_at=now - dt.timedelta(hours=2))

    # 5. The patient who opted out: STOP, and the one confirmation.
    harish = Patient.objects.filter(whatsapp_opted_out_at__isnull=False).order_by("mrn").first()
    if harish is not None and harish.contact_number:
        at = harish.whatsapp_opted_out_at or now - dt.timedelta(days=5)
        contact = _contact(harish, _wa(harish), harish.full_name, at)
        Contact.objects.filter(pk=contact.pk).update(opted_out_at=at, read_up_to=at)
        _inbound(contact, at, "STOP")
        _outbound(contact, at + dt.timedelta(seconds=5), Status.READ, text=OPT_OUT_REPLY.format(clinic=clinic.name))

    # 6. Someone who is not a patient (yet): only staff of every branch see it.
    at = now - dt.timedelta(minutes=95)
    stranger = Contact.objects.create(
        wa_id="919900112233",
        user_id="IN.4417738290011223",
        profile={"name": "Kavya"},
        last_inbound_at=at,
        last_message_at=at,
    )
    _inbound(
        stranger, at, "Hello, Sunday ko bachchon ke doctor milenge kya? Mera beta 4 saal ka hai, 2 din se bukhar hai."
    )

    # 7. Retention: Ravi's messages from four months ago go tonight (their texts are removed, the
    # times and statuses stay); Meena's conversation is kept for her insurance claim, so her old
    # message stays. The demo runs retention once so the purge log (Settings -> Audit log ->
    # Retention) has a run to show.
    ravi_contact = Contact.objects.get(wa_id=_wa(ravi))
    long_ago = now - dt.timedelta(days=122)
    _inbound(ravi_contact, long_ago, "Doctor, my father's ECG report attached earlier, please check.")
    _outbound(ravi_contact, long_ago + dt.timedelta(minutes=30), Status.READ, text="Dr. Rao has seen it: all normal.")
    meena_contact = Contact.objects.get(wa_id=_wa(meena))
    _inbound(meena_contact, now - dt.timedelta(days=104), "Foot wound photo for the insurance claim, as asked.")
    meena_contact.retained_at = now - dt.timedelta(days=100)
    meena_contact.retain_reason = "Insurance claim for the foot ulcer treatment: keep the photos and messages."
    meena_contact.save(update_fields=["retained_at", "retain_reason"])
    retention_run()

    # 8. Templates: the shipped ones approved by Meta (as a sync would have found them), a clinic's
    # own "lab report ready" still in review, and one rejected with Meta's reason.
    MessageTemplate.objects.update(status=MessageTemplate.Status.APPROVED, synced_at=now, submitted_at=now)
    MessageTemplate.objects.filter(name="payment_link", language="hi").update(status=MessageTemplate.Status.PENDING)
    MessageTemplate.objects.create(
        name="lab_report_ready", language="en", body="Namaste {{1}}, your lab report from {{2}} is ready to collect.",
        variables=["first_name", "clinic"], examples=["Asha", clinic.name], status=MessageTemplate.Status.PENDING,
        submitted_at=now,
    )  # fmt: skip
    MessageTemplate.objects.create(
        name="diwali_health_camp", language="en", category=MessageTemplate.Category.MARKETING,
        body="Free diabetes check-up camp this Sunday at {{1}}! Bring your family.", variables=["location"],
        examples=["Indiranagar"], status=MessageTemplate.Status.REJECTED, submitted_at=now,
        rejected_reason="Promotional content in a template of another category",
    )  # fmt: skip
