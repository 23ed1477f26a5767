"""The clinic's WhatsApp message templates: edit, submit to Meta for review, sync the review
status back, and preview with a patient's data. Meta's API is reached only through
`messaging.whatsapp` (template_create, templates_list).

A template's variables are positional (`{{1}}`, `{{2}}`, ...) and each one is named in
`variables` from VARIABLE_LABELS, the order the sending feature passes its parameters in (see
`appointments.reminders.reminder_parameters`). DocOS ships defaults for the messages it sends, in
English and Hindi (DEFAULT_TEMPLATES, written into every new clinic by a migration); a clinic
submits them once its WhatsApp number is connected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from messaging import whatsapp
from messaging.models import MessageTemplate
from messaging.services import whatsapp_account
from messaging.template_defaults import DEFAULT_TEMPLATES
from patients.models import Patient

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,511}$")
# ASCII digits only: Meta reads {{१}} (a Hindi keyboard's digit) as plain text, not a variable.
VARIABLE_RE = re.compile(r"\{\{([0-9]+)\}\}")
# Braces that are not a variable as Meta writes one ({{ 1 }}, {{१}}, {{name}}).
NOT_A_VARIABLE_RE = re.compile(r"\{\{(?![0-9]+\}\})")
LANGUAGES = {
    "en": "English",
    "hi": "Hindi",
    "ta": "Tamil",
    "te": "Telugu",
    "kn": "Kannada",
    "mr": "Marathi",
    "bn": "Bengali",
}
BUTTONS_MAX = 3  # quick replies we handle (Confirm, Cancel, Reschedule)
BUTTON_TEXT_MAX = 25
VARIABLE_LABELS = {
    "first_name": "Patient's first name",
    "clinician": "Doctor",
    "date": "Date",
    "time": "Time",
    "location": "Branch",
    "clinic": "Clinic name",
    "amount": "Amount (₹)",
    "link": "Link",
    "notice": "Notice text (a breach notice: filled from the incident)",
}
# Meta's review status, as the API spells it, to ours.
REMOTE_STATUS = {
    "APPROVED": MessageTemplate.Status.APPROVED,
    "PENDING": MessageTemplate.Status.PENDING,
    "IN_APPEAL": MessageTemplate.Status.PENDING,
    "REJECTED": MessageTemplate.Status.REJECTED,
    "PAUSED": MessageTemplate.Status.PAUSED,
    "DISABLED": MessageTemplate.Status.DISABLED,
}
EDITABLE = (MessageTemplate.Status.DRAFT, MessageTemplate.Status.REJECTED)


def install_default_templates() -> int:
    """Write the shipped templates the clinic does not have yet (as drafts). Returns how many."""
    created = 0
    for row in DEFAULT_TEMPLATES:
        _, made = MessageTemplate.objects.get_or_create(
            name=row["name"],
            language=row["language"],
            defaults={k: v for k, v in row.items() if k not in ("name", "language")},
        )
        created += made
    return created


# --- validation ------------------------------------------------------------------------------------------


def variable_at_an_end(body: str) -> bool:
    """Meta refuses a template whose body starts or ends with a variable ("{{1}}, your ..." or
    "... pay here: {{4}}"): fixed text must come first and last."""
    text = body.strip()
    return bool(re.match(r"\{\{[0-9]+\}\}", text) or re.search(r"\{\{[0-9]+\}\}$", text))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The template's fields, checked as Meta checks them (so a submission is not refused for them)."""
    errors: dict[str, str] = {}
    name = str(fields.get("name", "")).strip()
    if not NAME_RE.match(name):
        errors["name"] = (
            "Use lowercase letters, digits and underscores, starting with a letter (e.g. lab_report_ready)."
        )
    language = str(fields.get("language", ""))
    if language not in LANGUAGES:
        errors["language"] = "Choose a language."
    category = str(fields.get("category", MessageTemplate.Category.UTILITY))
    if category not in MessageTemplate.Category.values:
        errors["category"] = "Choose a category."
    body = str(fields.get("body", "")).strip()
    numbers = [int(n) for n in VARIABLE_RE.findall(body)]
    variables = [str(v) for v in fields.get("variables", [])]
    examples = [str(v).strip() for v in fields.get("examples", [])]
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > 1024:
        errors["body"] = "WhatsApp allows at most 1,024 characters."
    elif NOT_A_VARIABLE_RE.search(body):
        errors["body"] = "Write each variable as {{1}}, {{2}}, ... with the digits 0-9 and no spaces."
    elif variable_at_an_end(body):
        errors["body"] = "WhatsApp refuses a message that starts or ends with a variable: add words before or after it."
    elif sorted(set(numbers)) != list(range(1, len(set(numbers)) + 1)):
        errors["body"] = "Number the variables {{1}}, {{2}}, ... in order, without gaps."
    elif len(variables) != len(set(numbers)) or any(v not in VARIABLE_LABELS for v in variables):
        errors["variables"] = f"Say what each of the {len(set(numbers))} variables is."
    elif len(examples) != len(variables) or not all(examples):
        errors["examples"] = "Give an example for each variable (Meta's reviewers read them)."
    buttons = [str(b).strip() for b in fields.get("buttons", []) if str(b).strip()]
    if len(buttons) > BUTTONS_MAX or any(len(b) > BUTTON_TEXT_MAX for b in buttons):
        errors["buttons"] = f"At most {BUTTONS_MAX} quick replies of up to {BUTTON_TEXT_MAX} characters each."
    footer = str(fields.get("footer", "")).strip()
    if len(footer) > 60:
        errors["footer"] = "WhatsApp allows at most 60 characters."
    if errors:
        raise ValidationError(errors)
    return {
        "name": name, "language": language, "category": category, "body": body, "variables": variables,
        "examples": examples, "buttons": buttons, "footer": footer,
    }  # fmt: skip


# --- commands ---------------------------------------------------------------------------------------------


@transaction.atomic
def template_save(
    *, actor: User, template: MessageTemplate | None, fields: dict[str, Any], context: AuditContext | None = None
) -> MessageTemplate:
    """Create a template, or edit one that is a draft or was rejected (an approved text cannot change
    at Meta: write a new template instead)."""
    require_capability(actor, "settings.manage", "manage WhatsApp templates")
    clean = _clean(fields)
    if template is not None and template.status not in EDITABLE:
        raise ValidationError("Only drafts and rejected templates can be edited; create a new one instead.")
    clash = MessageTemplate.objects.filter(name=clean["name"], language=clean["language"])
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ValidationError({"name": "The clinic already has a template with this name in this language."})
    template = template or MessageTemplate()
    for key, value in clean.items():
        setattr(template, key, value)
    if template.status == MessageTemplate.Status.REJECTED:
        template.status = MessageTemplate.Status.DRAFT
        template.rejected_reason = ""
    try:
        with transaction.atomic():  # a savepoint: the same name saved twice at once loses on the constraint
            template.save()
    except IntegrityError as exc:
        raise ValidationError({"name": "The clinic already has a template with this name in this language."}) from exc
    audit_record(
        actor=actor, action="whatsapp_template.save", obj=template, context=context, changed_fields=list(clean)
    )
    return template


def _credentials() -> tuple[whatsapp.Credentials, str]:
    account = whatsapp_account()
    if account is None or not account.waba_id or not account.access_token:
        raise ValidationError(
            "Connect the clinic's WhatsApp Business Account first (Settings → WhatsApp: account id and token)."
        )
    return whatsapp.Credentials(
        phone_number_id=account.phone_number_id, access_token=account.access_token
    ), account.waba_id


def template_submit(*, actor: User, template: MessageTemplate, context: AuditContext | None = None) -> MessageTemplate:
    """Send a draft to Meta for review. Meta's refusal is shown in its own words."""
    require_capability(actor, "settings.manage", "manage WhatsApp templates")
    if template.status not in EDITABLE:
        raise ValidationError("This template was already submitted.")
    credentials, waba_id = _credentials()
    definition = whatsapp.template_definition(
        name=template.name, language=template.language, category=template.category, body=template.body,
        examples=list(template.examples), buttons=list(template.buttons), footer=template.footer,
    )  # fmt: skip
    try:
        remote = whatsapp.template_create(credentials, waba_id, definition)
    except whatsapp.VendorError as exc:
        raise ValidationError(f"WhatsApp refused the template: {exc.message}") from exc
    with transaction.atomic():
        MessageTemplate.objects.filter(pk=template.pk).update(
            status=REMOTE_STATUS.get(remote.status, MessageTemplate.Status.PENDING),
            meta_id=remote.id,
            category=remote.category if remote.category in MessageTemplate.Category.values else template.category,
            submitted_at=timezone.now(),
            rejected_reason="",
        )
        template.refresh_from_db()
        audit_record(actor=actor, action="whatsapp_template.submit", obj=template, context=context)
    return template


@dataclass(frozen=True)
class SyncResult:
    updated: int  # templates whose status, category or id changed
    imported: int  # templates made in WhatsApp Manager, now known here
    unchanged: int


def templates_sync(*, actor: User | None, context: AuditContext | None = None) -> SyncResult:
    """Read every template of the account from Meta: review statuses (and reasons) come back, and
    templates created in WhatsApp Manager are added, so the console shows what Meta will accept."""
    if actor is not None:
        require_capability(actor, "settings.manage", "manage WhatsApp templates")
    credentials, waba_id = _credentials()
    try:
        remote = whatsapp.templates_list(credentials, waba_id)
    except whatsapp.VendorError as exc:
        raise ValidationError(f"Could not read the templates from WhatsApp: {exc.message}") from exc
    now = timezone.now()
    updated = imported = unchanged = 0
    with transaction.atomic():
        known = {(t.name, t.language): t for t in MessageTemplate.objects.select_for_update()}
        for row in remote:
            status = REMOTE_STATUS.get(row.status.upper(), MessageTemplate.Status.PENDING)
            category = (
                row.category if row.category in MessageTemplate.Category.values else MessageTemplate.Category.UTILITY
            )
            local = known.get((row.name, row.language))
            if local is None:
                # Meta's pages can overlap: a name seen twice in one listing is one template.
                known[(row.name, row.language)] = MessageTemplate.objects.create(
                    name=row.name[:512], language=row.language[:16], category=category, status=status,
                    body="(created in WhatsApp Manager)", meta_id=row.id, rejected_reason=row.rejected_reason,
                    synced_at=now,
                )  # fmt: skip
                imported += 1
                continue
            changes = {
                "status": status,
                "meta_id": row.id,
                "category": category,
                "rejected_reason": row.rejected_reason,
            }
            if all(getattr(local, key) == value for key, value in changes.items()):
                unchanged += 1
            else:
                updated += 1
            MessageTemplate.objects.filter(pk=local.pk).update(synced_at=now, **changes)
        result = SyncResult(updated=updated, imported=imported, unchanged=unchanged)
        audit_record(
            actor=actor, action="whatsapp_template.sync", object_type="messaging.MessageTemplate", context=context,
            metadata={"updated": updated, "imported": imported, "unchanged": unchanged},
        )  # fmt: skip
    return result


def template_preview(template: MessageTemplate, *, patient: Patient | None = None) -> str:
    """The message as a patient would read it: their first name and the clinic's name filled in
    (the patient came through patients.access), the other variables from the examples."""
    values: list[str] = []
    for index, source in enumerate(template.variables):
        example = template.examples[index] if index < len(template.examples) else f"{{{{{index + 1}}}}}"
        if source == "first_name" and patient is not None:
            values.append((patient.given_name or "").split(" ")[0] or example)
        elif source == "clinic":
            values.append(str(getattr(getattr(connection, "tenant", None), "name", "") or example))
        else:
            values.append(str(example))

    def fill(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return values[number - 1] if 0 < number <= len(values) else match.group(0)

    return VARIABLE_RE.sub(fill, template.body)


def template_access(template_id: Any) -> MessageTemplate:
    """The clinic's template with this id (templates are clinic-wide: the schema scopes them); Http404 otherwise."""
    from django.http import Http404

    from docos.ids import parse_uuid

    pk = parse_uuid(template_id)
    template = MessageTemplate.objects.filter(pk=pk).first() if pk else None
    if template is None:
        raise Http404("No such template")
    return template


# Template events of the status webhook, to our status (None: the status stays, e.g. FLAGGED only
# warns that the template's quality is low; it is paused only by a later PAUSED event).
WEBHOOK_EVENTS: dict[str, str | None] = {
    **REMOTE_STATUS,
    "REINSTATED": MessageTemplate.Status.APPROVED,
    "PENDING_DELETION": MessageTemplate.Status.DISABLED,
    "DELETED": MessageTemplate.Status.DISABLED,
    "LIMIT_EXCEEDED": MessageTemplate.Status.DISABLED,
    "FLAGGED": None,
}


@transaction.atomic
def template_status_record(update: whatsapp.TemplateStatusUpdate) -> MessageTemplate | None:
    """A `message_template_status_update` webhook, in the clinic its WABA id routes to: the
    template's review status (and the reason) changes without waiting for a sync. The template is
    found by Meta's id, else by name and language; an unknown one is left to the next sync."""
    template = None
    if update.template_id:
        template = MessageTemplate.objects.select_for_update().filter(meta_id=update.template_id).first()
    if template is None and update.name:
        template = (
            MessageTemplate.objects.select_for_update().filter(name=update.name, language=update.language).first()
        )
    if template is None:
        return None
    status = WEBHOOK_EVENTS.get(update.event)
    changes: dict[str, Any] = {"synced_at": timezone.now()}
    if status is not None and status != template.status:
        changes["status"] = status
    if update.template_id and not template.meta_id:
        changes["meta_id"] = update.template_id[:32]
    if status in (MessageTemplate.Status.REJECTED, MessageTemplate.Status.PAUSED, MessageTemplate.Status.DISABLED):
        changes["rejected_reason"] = update.reason.replace("_", " ").capitalize()[:200]
    elif status == MessageTemplate.Status.APPROVED:
        changes["rejected_reason"] = ""
    for key, value in changes.items():
        setattr(template, key, value)
    template.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=None,
        action="whatsapp_template.status_webhook",
        obj=template,
        metadata={"event": update.event, "status": template.status},
    )
    return template
