"""The notice each patient affected by a breach is sent (DPDP Rules 2025, rule 7(1): what happened,
what data and what it may mean, what the clinic did, what the patient can do, whom to contact).

The notice is drafted from the incident when it is recorded and edited by staff. Sending is a
Celery task (`privacy.breach_notices`) with progress and counts: over WhatsApp through the
messaging outbox (template `data_breach_notice`, once per patient: the idempotency key is the
incident and the patient, so a second run or a redelivered task sends nothing twice) where the
patient can receive it (a number, consent, not opted out, not restricted; the clinic's WhatsApp
connected and the template approved by Meta); otherwise the patient is listed for a printed or
emailed letter (the same text, on a printable page). Logs and audit rows carry ids and counts only."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from messaging.models import MessageTemplate, OutboundMessage
from messaging.services import message_send_template, patient_unreachable_reason, whatsapp_account, whatsapp_ready
from patients.models import Patient
from privacy.models import AffectedPatient, BreachIncident, NoticeRun

TEMPLATE_NAME = "data_breach_notice"
TEMPLATE_LANGUAGE = "en"
TEMPLATE_BODY = (
    "Namaste {{1}}, {{2}} must inform you of a personal data breach that involves your information. {{3}} "
    "We are sorry. Reply to this message if you have any questions."
)
TEMPLATE = {
    "name": TEMPLATE_NAME,
    "language": TEMPLATE_LANGUAGE,
    "category": MessageTemplate.Category.UTILITY,
    "body": TEMPLATE_BODY,
    "variables": ["first_name", "clinic", "notice"],
    "examples": [
        "Asha",
        "Sunrise Clinic",
        "What happened: on 3 Dec 2026 we found that a staff account was used by someone else. "
        "Contact: privacy@sunrise.example.in.",
    ],
}
WHATSAPP_MAX = 1024  # Meta refuses a template message longer than this once its variables are filled
FIRST_NAME_ALLOWANCE = 30
NOT_APPROVED = "template_not_approved"
NOT_READY = "whatsapp_not_configured"
TOO_LONG = "notice_too_long"
REASONS = {
    NOT_APPROVED: f"The WhatsApp template “{TEMPLATE_NAME}” is not approved by Meta yet.",
    NOT_READY: "WhatsApp is not connected for this clinic.",
    TOO_LONG: "The notice is too long for one WhatsApp message.",
    "no_contact_number": "No WhatsApp number on record.",
    "no_whatsapp_consent": "No consent to WhatsApp messages.",
    "opted_out": "Opted out of WhatsApp messages.",
    "patient_restricted": "The record is restricted (an erasure request).",
}
SECTIONS = (
    ("notice_happened", "What happened"),
    ("notice_data", "What data, and what it may mean for you"),
    ("notice_actions", "What we have done"),
    ("notice_steps", "What you can do"),
    ("notice_contact", "Whom to contact"),
)
SHORT_LABELS = {
    "notice_happened": "What happened",
    "notice_data": "Data involved",
    "notice_actions": "What we did",
    "notice_steps": "What you can do",
    "notice_contact": "Contact",
}
_HAPPENED = {
    BreachIncident.Kind.STAFF_ACCOUNT: "a staff member's account on our records system was used by someone else",
    BreachIncident.Kind.API_TOKEN: "a key that lets software read our records (an API token) was exposed",
    BreachIncident.Kind.LOST_DEVICE: "a device or paper records holding patient information were lost or stolen",
    BreachIncident.Kind.MISDIRECTED: "patient information was sent to the wrong person",
    BreachIncident.Kind.VENDOR: "a service provider that processes data for us had a security incident",
    BreachIncident.Kind.MALWARE: "malicious software affected our computer systems",
    BreachIncident.Kind.OTHER: "an incident affected the security of patient information",
}


def install_notice_template() -> int:
    """The clinic's WhatsApp template for breach notices, as a draft to submit to Meta (idempotent)."""
    _, created = MessageTemplate.objects.get_or_create(
        name=TEMPLATE_NAME,
        language=TEMPLATE_LANGUAGE,
        defaults={k: v for k, v in TEMPLATE.items() if k not in ("name", "language")},
    )
    return int(created)


def clinic_name() -> str:
    return str(getattr(getattr(connection, "tenant", None), "name", "") or "the clinic")


def _clinic_email() -> str:
    return str(getattr(getattr(connection, "tenant", None), "contact_email", "") or "")


def notice_defaults(incident: BreachIncident) -> dict[str, str]:
    """A first draft of the notice, from what the incident records; staff edit it before sending."""
    from privacy.selectors import privacy_settings

    local = timezone.localtime
    when = f"On {local(incident.discovered_at):%d %b %Y} we found that {_HAPPENED[BreachIncident.Kind(incident.kind)]}"
    if incident.occurred_from:
        until = f" to {local(incident.occurred_to):%d %b %Y}" if incident.occurred_to else ""
        when += f", from {local(incident.occurred_from):%d %b %Y}{until}"
    contact = privacy_settings().privacy_contact or (f"Write to {_clinic_email()}" if _clinic_email() else "")
    return {
        "notice_happened": when + ".",
        "notice_data": "Your registration details and health records may have been seen. Someone could use them "
        "to contact you pretending to be the clinic.",
        "notice_actions": "We stopped the access, reported the breach to CERT-In and the Data Protection Board "
        "of India, and are strengthening our security.",
        "notice_steps": "Be careful with calls or messages claiming to be from us: we never ask for OTPs or "
        "payments by phone. You may ask us who opened your records.",
        "notice_contact": (contact or "Ask at the clinic's front desk") + ".",
    }


def _one_line(text: str) -> str:
    """WhatsApp template parameters may hold no newlines, tabs or runs of spaces."""
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if not text or text[-1] in ".!?" else text + "."


def whatsapp_notice(incident: BreachIncident) -> str:
    """The notice as the one-line variable {{3}} of the WhatsApp template."""
    return " ".join(
        f"{SHORT_LABELS[name]}: {_one_line(getattr(incident, name))}" for name, _ in SECTIONS if getattr(incident, name)
    )


def _fixed_length(clinic: str) -> int:
    return len(TEMPLATE_BODY) - len("{{1}}{{2}}{{3}}") + len(clinic)


def whatsapp_notice_limit() -> int:
    """How long the notice may be so that the filled WhatsApp message stays within Meta's limit."""
    return WHATSAPP_MAX - _fixed_length(clinic_name()) - FIRST_NAME_ALLOWANCE


def first_name(patient: Patient) -> str:
    return (patient.given_name or "").split(" ")[0] or "there"


def letter(incident: BreachIncident, name: str) -> list[tuple[str, str]]:
    """The printed or emailed notice to `name`: (heading, paragraph) pairs, the salutation first."""
    return [("", f"Dear {name},")] + [
        (label, getattr(incident, name)) for name, label in SECTIONS if getattr(incident, name)
    ]


@transaction.atomic
def notice_update(
    *, incident: BreachIncident, actor: User, values: dict[str, str], context: AuditContext | None = None
) -> BreachIncident:
    """Edit the notice. Every part is needed (rule 7(1)), and the whole must fit one WhatsApp message."""
    from privacy.breaches import _require

    _require(actor)
    locked = BreachIncident.objects.select_for_update().get(pk=incident.pk)
    errors: dict[str, str] = {}
    cleaned = {}
    for name, label in SECTIONS:
        value = (values.get(name) or "").strip()
        if not value:
            errors[name] = f"Write “{label}”: the law asks for it in every notice."
        cleaned[name] = value
    for name, value in cleaned.items():
        setattr(locked, name, value)
    limit = whatsapp_notice_limit()
    length = len(whatsapp_notice(locked))
    if not errors and length > limit:
        errors["notice_happened"] = (
            f"For WhatsApp the notice must fit in {limit} characters (labels included); it has {length}. Shorten it."
        )
    if errors:
        raise ValidationError(errors)
    changed = [name for name, _ in SECTIONS if getattr(incident, name) != cleaned[name]]
    locked.notice_updated_at = timezone.now()
    locked.save()
    audit_record(actor=actor, action="privacy.breach_notice_edit", obj=locked, changed_fields=changed, context=context)
    return locked


# --- sending -----------------------------------------------------------------------------------------


def template_approved() -> bool:
    return MessageTemplate.objects.filter(
        name=TEMPLATE_NAME, language=TEMPLATE_LANGUAGE, status=MessageTemplate.Status.APPROVED
    ).exists()


@transaction.atomic
def notices_send_start(*, incident: BreachIncident, actor: User, context: AuditContext | None = None) -> NoticeRun:
    """Queue the sending of the notices (a Celery task on the messaging queue)."""
    from privacy.breaches import _require

    _require(actor)
    locked = BreachIncident.objects.select_for_update().get(pk=incident.pk)
    if locked.notice_updated_at is None:
        raise ValidationError("Read and save the notice before sending it.")
    if not locked.affected.filter(excluded=False).exists():
        raise ValidationError("No affected patients on the list.")
    if locked.notice_runs.filter(status__in=[NoticeRun.Status.QUEUED, NoticeRun.Status.RUNNING]).exists():
        raise ValidationError("The notices are already being sent.")
    run = NoticeRun.objects.create(
        incident=locked, created_by=actor, total=locked.affected.filter(excluded=False).count()
    )
    audit_record(actor=actor, action="privacy.breach_notices_start", obj=locked, context=context,
                 metadata={"run": str(run.pk), "patients": run.total})  # fmt: skip
    pk = str(run.pk)

    def enqueue() -> None:
        from privacy.tasks import breach_notices_task

        breach_notices_task.delay(pk)

    transaction.on_commit(enqueue)
    return run


def _whatsapp_problem(patient: Patient, *, ready: bool, approved: bool, notice: str, clinic: str) -> str:
    if not ready:
        return NOT_READY
    if not approved:
        return NOT_APPROVED
    reason = patient_unreachable_reason(patient)
    if reason:
        return reason
    if _fixed_length(clinic) + len(first_name(patient)) + len(notice) > WHATSAPP_MAX:
        return TOO_LONG
    return ""


BATCH = 50


def _notify(
    row: AffectedPatient, incident: BreachIncident, *, ready: bool, approved: bool, notice: str, clinic: str
) -> str:
    """Notify one patient (the row is locked): "already", "whatsapp" or "print"."""
    if row.notice_message_id is not None:
        return "already"  # a WhatsApp notice was recorded for this patient: never a second one
    now = timezone.now()
    problem = _whatsapp_problem(row.patient, ready=ready, approved=approved, notice=notice, clinic=clinic)
    if problem:
        row.notice_channel, row.notice_reason = AffectedPatient.Channel.PRINT, problem
        row.noticed_at = row.noticed_at or now
        row.save(update_fields=["notice_channel", "notice_reason", "noticed_at"])
        return "print"
    message = message_send_template(
        patient=row.patient,
        template_name=TEMPLATE_NAME,
        language=TEMPLATE_LANGUAGE,
        parameters=[first_name(row.patient), clinic, notice],
        idempotency_key=f"breach-notice:{incident.pk}:{row.patient_id}",
        related=row,
    )
    failed = message.status == OutboundMessage.Status.FAILED
    row.notice_message = message
    row.notice_channel = AffectedPatient.Channel.PRINT if failed else AffectedPatient.Channel.WHATSAPP
    row.notice_reason = message.error[:64] if failed else ""
    row.noticed_at = now
    row.save(update_fields=["notice_message", "notice_channel", "notice_reason", "noticed_at"])
    return "print" if failed else "whatsapp"


def notices_send(*, run_id: str) -> str:
    """The task's body: notify every patient on the list, in batches, updating the run's counts.
    Re-running (a redelivered task) re-counts and sends nothing twice."""
    with transaction.atomic():
        run = NoticeRun.objects.select_for_update().select_related("incident").filter(pk=run_id).first()
        if run is None or run.status in (NoticeRun.Status.DONE, NoticeRun.Status.FAILED):
            return run.status if run is not None else "missing"
        run.status = NoticeRun.Status.RUNNING
        run.done = run.whatsapp = run.printable = run.already = 0
        listed = AffectedPatient.objects.filter(incident=run.incident, excluded=False)
        ids = list(listed.order_by("pk").values_list("pk", flat=True))
        run.total = len(ids)
        run.save()
    incident = run.incident
    clinic = clinic_name()
    notice = whatsapp_notice(incident)
    ready, approved = whatsapp_ready(whatsapp_account()), template_approved()
    counts = {"already": 0, "whatsapp": 0, "print": 0}
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            rows = AffectedPatient.objects.select_for_update(of=("self",)).select_related("patient")
            for row in rows.filter(pk__in=ids[start : start + BATCH]).order_by("pk"):
                counts[_notify(row, incident, ready=ready, approved=approved, notice=notice, clinic=clinic)] += 1
            NoticeRun.objects.filter(pk=run.pk).update(
                done=sum(counts.values()), whatsapp=counts["whatsapp"], printable=counts["print"],
                already=counts["already"],
            )  # fmt: skip
    with transaction.atomic():
        NoticeRun.objects.filter(pk=run.pk).update(status=NoticeRun.Status.DONE, finished_at=timezone.now())
        audit_record(
            actor=run.created_by, action="privacy.breach_notices_sent", obj=incident,
            metadata={"run": str(run.pk), **counts},
        )  # fmt: skip
    return NoticeRun.Status.DONE


def notices_run_failed(run_id: str, error: str) -> None:
    NoticeRun.objects.filter(pk=run_id).exclude(status=NoticeRun.Status.DONE).update(
        status=NoticeRun.Status.FAILED, error=error[:200], finished_at=timezone.now()
    )


def notice_message_status(message: OutboundMessage) -> None:
    """The messaging outbox's listener: a WhatsApp notice that failed later (Meta refused it, the
    number has no WhatsApp) puts the patient on the printed-letters list."""
    if message.status != OutboundMessage.Status.FAILED or not message.related_id.isdigit():
        return
    AffectedPatient.objects.filter(pk=int(message.related_id), notice_message=message).update(
        notice_channel=AffectedPatient.Channel.PRINT, notice_reason=(message.error or "failed")[:64]
    )


def reason_sentence(code: str) -> str:
    from messaging.services import failure_sentence

    return REASONS.get(code) or failure_sentence(code)


def print_rows(incident: BreachIncident) -> list[AffectedPatient]:
    """The patients whose notice staff print or email."""
    return list(
        incident.affected.filter(excluded=False, notice_channel=AffectedPatient.Channel.PRINT)
        .select_related("patient")
        .order_by("patient__family_name", "patient__given_name")
    )


def notice_summary(incident: BreachIncident) -> dict[str, Any]:
    rows = incident.affected.filter(excluded=False)
    return {
        "listed": rows.count(),
        "whatsapp": rows.filter(notice_channel=AffectedPatient.Channel.WHATSAPP).count(),
        "print": rows.filter(notice_channel=AffectedPatient.Channel.PRINT).count(),
        "pending": rows.filter(notice_channel="").count(),
    }
