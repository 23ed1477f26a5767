"""Reads of the staff inbox: conversations (one per WhatsApp contact) and their messages both ways.

Who sees which conversation follows the patient rules (patients.access): a conversation linked to a
patient is visible to a user who may open that patient; staff restricted to some branches see only
those. A conversation not (yet) linked to a patient belongs to no branch, so only staff who see the
whole clinic see it: its messages may name a patient of any branch. `conversation_access` is the one
function that turns a conversation id into a contact (the same 404 for missing and forbidden), and
`inbound_message_access` does the same for one inbound message (its media download).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.selectors import user_location_ids
from audit.access_log import record_read, record_reads
from docos.ids import parse_uuid
from messaging.models import Contact, InboundMessage, OutboundMessage
from messaging.services import SERVICE_WINDOW, failure_sentence
from patients.access import patient_access, patient_visibility
from patients.models import Patient
from patients.selectors import patient_search


def _visible_contacts(user: Any) -> QuerySet[Contact]:
    contacts = Contact.objects.all()
    condition = patient_visibility(user)
    if condition is None:
        return contacts
    return contacts.filter(patient__in=Patient.objects.filter(condition).values("pk"))


def _unread() -> Count:
    return Count(
        "inbound_messages",
        filter=Q(read_up_to__isnull=True) | Q(inbound_messages__sent_at__gt=F("read_up_to")),
    )


def conversation_list(
    *,
    user: Any,
    location_id: Any = None,
    unread: bool = False,
    opted_out: bool | None = None,
    patient: Patient | None = None,
) -> QuerySet[Contact]:
    """The conversations `user` may read, newest message first, each with `unread_count`.

    `location_id` keeps those of patients registered at that branch (one of the user's; another
    raises Http404); `unread` only those with unread messages; `opted_out` True/False only those
    that have (not) opted out of WhatsApp messages."""
    contacts = _visible_contacts(user).select_related("patient", "patient__registered_location")
    if patient is not None:  # already through patients.access.patient_access
        contacts = contacts.filter(patient=patient)
    if location_id is not None:
        ids = user_location_ids(user)
        pk = parse_uuid(location_id)
        if pk is None or (ids is not None and pk not in ids):
            raise Http404("No such location")
        contacts = contacts.filter(patient__registered_location_id=pk)
    contacts = contacts.annotate(unread_count=_unread())
    if unread:
        contacts = contacts.filter(unread_count__gt=0)
    opted = Q(opted_out_at__isnull=False) | Q(patient__whatsapp_opted_out_at__isnull=False)
    if opted_out is True:
        contacts = contacts.filter(opted)
    elif opted_out is False:
        contacts = contacts.exclude(opted)
    return contacts.order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "pk")


def note_conversation_reads(*, user: Any, contacts: Any) -> None:
    record_reads(user=user, patient_ids=(c.patient_id for c in contacts), what="whatsapp")


def conversation_access(*, user: Any, conversation_id: Any, for_update: bool = False) -> Contact:
    """The conversation (contact) with this id if `user` may read it; Http404 otherwise."""
    pk = parse_uuid(conversation_id)
    contacts = _visible_contacts(user).select_related("patient", "patient__registered_location")
    if for_update:
        contacts = contacts.select_for_update(of=("self",))
    contact = contacts.filter(pk=pk).first() if pk else None
    if contact is None:
        raise Http404("No such conversation")
    if contact.patient_id is not None:
        record_read(user=user, patient_id=contact.patient_id, what="whatsapp")
    return contact


def inbound_message_access(*, user: Any, message_id: Any) -> InboundMessage:
    """One inbound message of a conversation `user` may read (for its media); Http404 otherwise."""
    pk = parse_uuid(message_id)
    message = (
        InboundMessage.objects.filter(pk=pk, contact__in=_visible_contacts(user).values("pk"))
        .select_related("contact")
        .first()
        if pk
        else None
    )
    if message is None:
        raise Http404("No such message")
    if message.contact.patient_id is not None:
        record_read(user=user, patient_id=message.contact.patient_id, what="whatsapp")
    return message


def conversation_label(contact: Contact) -> str:
    """What staff call the conversation: the patient's name, else the WhatsApp profile's, else the number."""
    if contact.patient is not None:
        return contact.patient.full_name
    profile = contact.profile if isinstance(contact.profile, dict) else {}
    return str(profile.get("name") or profile.get("username") or contact.phone or "WhatsApp user")


def unread_count(contact: Contact) -> int:
    messages = contact.inbound_messages.all()
    if contact.read_up_to is not None:
        messages = messages.filter(sent_at__gt=contact.read_up_to)
    return messages.count()


def window_closes_at(contact: Contact) -> dt.datetime | None:
    """When the 24-hour customer-service window closes (None: it is closed, or never opened)."""
    if contact.last_inbound_at is None:
        return None
    closes = contact.last_inbound_at + SERVICE_WINDOW
    return closes if closes > timezone.now() else None


@dataclass(frozen=True)
class ConversationMessage:
    """One line of a conversation, either way, as staff read it."""

    id: Any
    direction: str  # "in" or "out"
    kind: str
    text: str
    at: dt.datetime
    status: str = ""  # outbound: queued, sending, sent, delivered, read, failed
    status_label: str = ""
    failure: str = ""  # outbound failed: the human sentence
    template_name: str = ""
    media: InboundMessage | None = None  # inbound media: the row (status, type, name, size)


def _outbound_of(contact: Contact) -> QuerySet[OutboundMessage]:
    """Messages sent to this contact: replies name the contact; notifications (templates) name the
    linked patient and go to the contact's number."""
    condition = Q(contact=contact)
    if contact.patient_id is not None and contact.wa_id:
        condition |= Q(contact__isnull=True, patient_id=contact.patient_id, to_number=contact.phone)
    return OutboundMessage.objects.filter(condition).exclude(purpose=OutboundMessage.Purpose.TEST)


# What a line of a conversation says once its text is gone (messaging.retention).
PURGED_TEXT = "Text removed after the retention period (metadata kept)."


def _inbound_text(message: InboundMessage) -> str:
    if message.purged_at is not None:
        return PURGED_TEXT
    text = str(message.body or "")
    if text:
        return text
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.kind in ("image", "document", "video"):
        return str(payload.get("caption", "") or "")
    if message.kind == "reaction":
        return str(payload.get("emoji", "") or "")
    if message.kind == "location":
        return ", ".join(str(payload[k]) for k in ("name", "address") if payload.get(k)) or "Shared a location"
    return ""


def _outbound_text(message: OutboundMessage) -> str:
    if message.purged_at is not None:
        return PURGED_TEXT if message.kind == OutboundMessage.Kind.TEXT else f"Template “{message.template_name}”"
    if message.kind == OutboundMessage.Kind.TEXT:
        return str(message.body or "")
    if message.kind == OutboundMessage.Kind.DOCUMENT:  # a PDF: its file name, then the caption
        details = message.parameters if isinstance(message.parameters, dict) else {}
        caption = str(message.body or "")
        return f"PDF “{details.get('filename') or 'document.pdf'}”" + (f": {caption}" if caption else "")
    values = message.parameters if isinstance(message.parameters, list) else []
    shown = " · ".join(str(v) for v in values)
    return f"Template “{message.template_name}”" + (f": {shown}" if shown else "")


def _in_line(message: InboundMessage) -> ConversationMessage:
    return ConversationMessage(
        id=message.pk,
        direction="in",
        kind=message.kind,
        text=_inbound_text(message),
        at=message.sent_at,
        media=message if message.media_id else None,
    )


def conversation_line(message: OutboundMessage) -> ConversationMessage:
    """An outbound message as a line of its conversation."""
    failed = message.status == OutboundMessage.Status.FAILED
    return ConversationMessage(
        id=message.pk,
        direction="out",
        kind=message.kind,
        text=_outbound_text(message),
        at=message.sent_at or message.created_at,
        status=message.status,
        status_label=message.get_status_display(),
        failure=failure_sentence(message.error, message.error_title) if failed else "",
        template_name=message.template_name,
    )


def conversation_messages(contact: Contact, *, limit: int | None = 200) -> list[ConversationMessage]:
    """The newest `limit` messages (None: all) of the conversation both ways, oldest first."""
    inbound_rows = contact.inbound_messages.order_by("-sent_at")
    outbound_rows = _outbound_of(contact).order_by("-created_at")
    inbound = list(inbound_rows if limit is None else inbound_rows[:limit])
    outbound = list(outbound_rows if limit is None else outbound_rows[:limit])
    lines = [_in_line(m) for m in inbound] + [conversation_line(m) for m in outbound]
    lines.sort(key=lambda line: line.at)
    return lines if limit is None else lines[-limit:]


# --- what the clinic's WhatsApp costs -----------------------------------------------------------------

# Meta prices each delivered message by its category (per-message pricing; service replies are
# charged too since October 2026). The category comes with the status webhook (`pricing.category`).
PRICING_LABELS = {
    "marketing": "Marketing",
    "utility": "Utility (reminders, prescriptions, payment links)",
    "authentication": "Authentication",
    "service": "Service (replies within 24 hours)",
}


@dataclass(frozen=True)
class MonthUsage:
    month: dt.date  # the first day, in the clinic's time zone
    rows: list[tuple[str, int]]  # (category label, messages), every known category, then others
    unreported: int  # sent, but WhatsApp has not said the category yet
    failed: int

    @property
    def total(self) -> int:
        return sum(count for _, count in self.rows) + self.unreported


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def whatsapp_usage(*, months: int = 2, today: dt.date | None = None) -> list[MonthUsage]:
    """Messages the clinic sent per pricing category, this month and the ones before (newest first),
    counted by the month they were sent in (the clinic's time zone), so a clinic sees what it spends."""
    first = _month_start(today or timezone.localdate())
    starts = [first]
    for _ in range(months - 1):
        starts.append(_month_start(starts[-1] - dt.timedelta(days=1)))
    tz = timezone.get_current_timezone()
    usage = []
    for start in starts:
        end = _month_start(start + dt.timedelta(days=32))
        window = (
            dt.datetime.combine(start, dt.time(), tzinfo=tz),
            dt.datetime.combine(end, dt.time(), tzinfo=tz),
        )
        sent = dict(
            OutboundMessage.objects.filter(sent_at__gte=window[0], sent_at__lt=window[1])
            .values_list("pricing_category")
            .annotate(n=Count("pk"))
            .values_list("pricing_category", "n")
        )
        failed = OutboundMessage.objects.filter(failed_at__gte=window[0], failed_at__lt=window[1]).count()
        unreported = sent.pop("", 0)
        rows = [(label, sent.pop(key, 0)) for key, label in PRICING_LABELS.items()]
        rows += [(key.title(), count) for key, count in sorted(sent.items())]
        usage.append(MonthUsage(month=start, rows=rows, unreported=unreported, failed=failed))
    return usage


def template_preview_patient(*, user: Any, query: str) -> Patient | None:
    """The patient a template preview is filled with: the best match of a search the user may see."""
    if not query:
        return None
    rows = patient_search(user=user, query=query).rows(0, 1)
    if not rows:
        return None
    try:
        return patient_access(user=user, patient_id=rows[0].pk)
    except Http404:
        return None


# --- the conversation panel on the patient chart --------------------------------------------------

CHART_PAGE_SIZE = 25  # lines per page of a conversation (chart panel and inbox)
CHART_PAGES_MAX = 100  # "older" goes back this far on the chart; the inbox has the whole conversation


def patient_contact(patient: Patient) -> Contact | None:
    """The patient's WhatsApp conversation shown on the chart: the contact linked to them that wrote
    or was written to most recently (a patient and a guardian may both have written)."""
    return (
        Contact.objects.filter(patient=patient)
        .order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "pk")
        .first()
    )


@dataclass(frozen=True)
class LinesPage:
    lines: list[ConversationMessage]  # oldest first
    page: int  # 1: the newest messages; 2: the ones before them, ...
    has_older: bool


def conversation_page(
    *, contact: Contact | None, patient: Patient | None = None, page: int = 1, size: int = CHART_PAGE_SIZE
) -> LinesPage:
    """One page of a conversation, both ways, newest page first (oldest line first within it).
    Without a contact (the patient never wrote) the page holds what the clinic sent the patient."""
    page = max(1, min(page, CHART_PAGES_MAX))
    want = page * size + 1
    inbound = list(contact.inbound_messages.order_by("-sent_at")[:want]) if contact is not None else []
    if contact is not None:
        outbound_rows = _outbound_of(contact)
    elif patient is not None:
        outbound_rows = OutboundMessage.objects.filter(patient=patient).exclude(purpose=OutboundMessage.Purpose.TEST)
    else:
        outbound_rows = OutboundMessage.objects.none()
    outbound = list(outbound_rows.order_by("-created_at")[:want])
    lines = [_in_line(m) for m in inbound] + [conversation_line(m) for m in outbound]
    lines.sort(key=lambda line: line.at, reverse=True)
    chunk = lines[(page - 1) * size : page * size]
    return LinesPage(lines=list(reversed(chunk)), page=page, has_older=len(lines) > page * size)
