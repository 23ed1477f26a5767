"""Share links of imaging studies: create, revoke, resolve, one-time codes, and what a link may read.

A link opens one study read-only, on the clinic's host, until it expires (default 7 days, at most 30)
or is revoked. With `require_code`, the visitor first asks for a 6-digit code that goes to the
patient's WhatsApp (messaging.services, template `imaging_share_code`), valid 10 minutes, 5 attempts,
used once; the browser session that entered it may then view until the link ends (at most 12 hours).
Every opening, code request and attempt is a ShareAccess row; creating and revoking are audited.
Frames come from the core renderer (imaging.render, imaging.services' cache and originals); a link
only ever reaches instances of its own study.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.guards import require_capability
from accounts.models import User
from audit.context import AuditContext
from audit.services import audit_record
from imaging.models import Instance, ShareAccess, ShareLink, Study
from imaging.render import Window
from imaging.services import cached_frame_png, instance_bytes
from messaging.services import message_send_template, patient_unreachable_reason

SHARE = "imaging.share"
DEFAULT_DAYS = 7
MAX_DAYS = 30
CODE_TEMPLATE = "imaging_share_code"
CODE_MINUTES = 10
CODE_ATTEMPTS = 5
CODES_MAX = 10  # codes one link may send in its life
CODE_RESEND_SECONDS = 60
SESSION_HOURS = 12
SESSION_KEY = "imaging_share_ok"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_hash(share: ShareLink, code: str) -> str:
    """Keyed and bound to the link: a database reader cannot try the million codes offline."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"imaging-share:{share.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _audit_metadata(share: ShareLink) -> dict[str, Any]:
    return {"study": str(share.study_id), "expires": share.expires_at.isoformat(), "code": share.require_code}


def code_template_approved() -> bool:
    """Meta sends one-time codes only through an approved AUTHENTICATION template: without it the
    code would never reach the patient, so a link cannot ask for one."""
    from messaging.models import MessageTemplate

    return MessageTemplate.objects.filter(
        name=CODE_TEMPLATE,
        category=MessageTemplate.Category.AUTHENTICATION,
        status=MessageTemplate.Status.APPROVED,
    ).exists()


@transaction.atomic
def share_create(
    *,
    study: Study,
    actor: User,
    days: int = DEFAULT_DAYS,
    require_code: bool = False,
    note: str = "",
    context: AuditContext | None = None,
) -> tuple[ShareLink, str]:
    """A new link for `study` (reached through study_access by the caller); returns it and its secret."""
    require_capability(actor, SHARE, "share imaging studies")
    if study.patient.restricted_at is not None:
        raise ValidationError(
            "This patient's record is restricted (a privacy request): it cannot be shared outside the clinic."
        )
    errors: dict[str, str] = {}
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = f"A link lasts from 1 to {MAX_DAYS} days."
    note = (note or "").strip()
    if len(note) > 120:
        errors["note"] = "Keep the note to 120 characters."
    if require_code and not code_template_approved():
        errors["require_code"] = (
            f"The code goes out as the clinic's WhatsApp authentication template “{CODE_TEMPLATE}”, which Meta "
            "has not approved for this clinic yet (Settings → WhatsApp → Templates). Share without a code for now."
        )
    elif require_code and (reason := patient_unreachable_reason(study.patient)):
        errors["require_code"] = (
            "The code goes to the patient's WhatsApp, and this patient cannot receive it "
            f"({reason.replace('_', ' ')}). Share without a code, or record the number and consent first."
        )
    if errors:
        raise ValidationError(errors)
    secret = secrets.token_urlsafe(24)
    now = timezone.now()
    share = ShareLink(
        study=study,
        token_hash=_hash(secret),
        token=secret,
        note=note,
        created_by=actor,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
        require_code=require_code,
    )
    share.save()
    audit_record(
        actor=actor,
        action="imaging.share.create",
        obj=share,
        location_id=study.location_id,
        context=context,
        metadata=_audit_metadata(share),
    )
    return share, secret


@transaction.atomic
def share_revoke(*, share: ShareLink, actor: User, context: AuditContext | None = None) -> ShareLink:
    require_capability(actor, SHARE, "revoke share links")
    share = ShareLink.objects.select_for_update().get(pk=share.pk)
    if share.revoked_at is not None:
        return share  # already revoked: nothing changes, nothing audited twice
    share.revoked_at = timezone.now()
    share.revoked_by = actor
    share.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="imaging.share.revoke",
        obj=share,
        location_id=share.study.location_id,
        context=context,
        metadata=_audit_metadata(share),
    )
    return share


def share_for_staff(user: User, study: Study, share_id: Any) -> ShareLink:
    """A link of a study the user reached (study_access); the same 404 for another study's link."""
    require_capability(user, SHARE, "manage share links")
    found = ShareLink.objects.filter(study=study, pk=share_id).select_related("study").first()
    if found is None:
        raise Http404("No such link")
    return found


def shares_of(study: Study) -> QuerySet[ShareLink]:
    return study.share_links.select_related("created_by", "revoked_by").order_by("-created_at")


def accesses_of(shares: list[ShareLink], *, per_link: int = 20) -> dict[Any, list[ShareAccess]]:
    """The latest uses of each link, newest first."""
    found: dict[Any, list[ShareAccess]] = {share.pk: [] for share in shares}
    rows = ShareAccess.objects.filter(share__in=shares).order_by("-at")[: per_link * max(len(shares), 1)]
    for row in rows:
        if len(found[row.share_id]) < per_link:
            found[row.share_id].append(row)
    return found


# --- the public side -----------------------------------------------------------------------------


def share_find(token: str) -> ShareLink | None:
    """The link whose secret this is (whatever its state), or None."""
    if not token or len(token) > 64:
        return None
    # A restricted patient's links were revoked with the restriction; the filter keeps it so whatever happens.
    links = ShareLink.objects.select_related("study", "study__patient").filter(study__patient__restricted_at=None)
    return links.filter(token_hash=_hash(token)).first()


def access_log(share: ShareLink, event: str, context: AuditContext | None = None) -> None:
    ctx = context or AuditContext()
    ShareAccess.objects.create(share=share, event=event, ip=ctx.ip or None, user_agent=(ctx.user_agent or "")[:200])
    if event == ShareAccess.Event.VIEWED:
        ShareLink.objects.filter(pk=share.pk).update(
            access_count=F("access_count") + 1, last_accessed_at=timezone.now()
        )


def session_allows(share: ShareLink, session: Any) -> bool:
    """Whether this browser session may view: no code needed, or a code entered here recently."""
    if not share.require_code:
        return True
    granted = (session.get(SESSION_KEY) or {}).get(str(share.pk))
    return isinstance(granted, (int, float)) and granted > timezone.now().timestamp()


def session_grant(share: ShareLink, session: Any) -> None:
    until = min(share.expires_at, timezone.now() + dt.timedelta(hours=SESSION_HOURS)).timestamp()
    grants = {k: v for k, v in (session.get(SESSION_KEY) or {}).items() if v > timezone.now().timestamp()}
    grants[str(share.pk)] = until
    session[SESSION_KEY] = grants


def _last_four(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[-4:]


def code_destination(share: ShareLink) -> str:
    """The end of the number the code goes to ("…3210"), to show the visitor."""
    return "…" + _last_four(share.study.patient.contact_number or "")


@transaction.atomic
def share_code_send(*, share: ShareLink, context: AuditContext | None = None) -> str:
    """Send a new one-time code to the patient's WhatsApp; "" when sent, else a sentence why not."""
    share = ShareLink.objects.select_for_update().select_related("study__patient").get(pk=share.pk)
    now = timezone.now()
    problem = ""
    if share.state(now) != "active" or not share.require_code:
        problem = "This link does not take codes."
    elif share.codes_sent >= CODES_MAX:
        problem = "Too many codes were sent for this link. Ask the clinic for a new link."
    elif share.code_sent_at and (now - share.code_sent_at).total_seconds() < CODE_RESEND_SECONDS:
        problem = "A code was sent a moment ago. Wait a minute before asking for another."
    elif patient_unreachable_reason(share.study.patient):
        problem = "The code cannot be sent to the patient's WhatsApp. Ask the clinic for help."
    if problem:
        access_log(share, ShareAccess.Event.CODE_REFUSED, context)
        return problem
    code = f"{secrets.randbelow(10**6):06d}"
    share.code_hash = _code_hash(share, code)
    share.code_expires_at = now + dt.timedelta(minutes=CODE_MINUTES)
    share.code_attempts = 0
    share.codes_sent += 1
    share.code_sent_at = now
    share.save(update_fields=["code_hash", "code_expires_at", "code_attempts", "codes_sent", "code_sent_at"])
    message_send_template(
        patient=share.study.patient,
        template_name=CODE_TEMPLATE,
        language="en",
        parameters=[code],
        idempotency_key=f"imaging-share-code:{share.pk}:{share.codes_sent}",
        related=share,
    )
    access_log(share, ShareAccess.Event.CODE_SENT, context)
    return ""


@transaction.atomic
def share_code_verify(*, share: ShareLink, code: str, context: AuditContext | None = None) -> bool:
    """True (and the code is used up) when `code` is the link's current code; attempts are limited."""
    share = ShareLink.objects.select_for_update().get(pk=share.pk)
    now = timezone.now()
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    usable = (
        share.state(now) == "active"
        and share.code_hash
        and share.code_expires_at is not None
        and share.code_expires_at > now
        and share.code_attempts < CODE_ATTEMPTS
    )
    if usable and len(code) == 6 and hmac.compare_digest(share.code_hash, _code_hash(share, code)):
        share.code_hash = ""
        share.code_expires_at = None
        share.save(update_fields=["code_hash", "code_expires_at"])
        access_log(share, ShareAccess.Event.CODE_OK, context)
        return True
    if share.code_hash:
        share.code_attempts += 1
        share.save(update_fields=["code_attempts"])
    access_log(share, ShareAccess.Event.CODE_WRONG, context)
    return False


def share_instance(share: ShareLink, instance_id: Any) -> Instance:
    """An image of the shared study, or Http404 (any other id, of this patient or not)."""
    found = Instance.objects.filter(study_id=share.study_id, pk=instance_id).select_related("study").first()
    if found is None:
        raise Http404("No such image")
    return found


def share_frame_png(
    *, share: ShareLink, instance: Instance, frame: int, window: Window | None, max_px: int | None = None
) -> bytes:
    """One frame of a shared image as PNG, through the same encrypted frame cache as the clinic viewer."""
    if instance.study_id != share.study_id:
        raise Http404("No such image")
    return cached_frame_png(
        instance=instance,
        frame=frame,
        window=window,
        max_px=max_px,
        load=lambda: instance_bytes(instance=instance, actor=None),
    )
