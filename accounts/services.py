"""Writes about staff, roles, locations and API tokens. Every function audits inside its transaction.

Privilege guards (enforced here, not only in the console's forms):
- nobody grants a role or capability they do not hold themselves;
- a staff manager restricted to some locations grants only those locations;
- nobody changes the access of a colleague with administrative capabilities they lack themselves, and a
  manager restricted to some locations manages only staff within them;
- nobody changes their own role or deactivates themselves, and the clinic always keeps one active owner;
- editing a role changes the access of everyone holding it, so a manager restricted to some locations
  edits only roles whose holders all work within them;
- revoking someone else's API token needs the same standing as changing their access.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from accounts.api_auth import TOKEN_PREFIX, hash_token
from accounts.models import ApiToken, Location, Role, User
from accounts.selectors import active_owner_count, forget_user_locations, user_location_ids
from audit.context import AuditContext
from audit.services import audit_record
from docos import capabilities as caps_registry
from docos.gstin import validate_gstin
from docos.tenancy import HasSlug, clinic_url, validate_timezone

logger = logging.getLogger(__name__)

OWNER_ROLE = "owner"
MAX_ACTIVE_TOKENS_PER_USER = 20
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]*[0-9]$")


def user_validate_password(password: str, *, email: str = "", full_name: str = "", user: User | None = None) -> None:
    """Django's validators (min 12 chars, common, numeric, similar to the user's name or email)."""
    probe = user or User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=probe)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def password_set_url(user: User) -> str:
    """Path of a one-time link for setting a password (invitations, resets). Used once: the token
    depends on the password hash and last login, so setting a password invalidates it."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/set-password/{uid}/{default_token_generator.make_token(user)}"


# --- shared validation -------------------------------------------------------------------------


def validate_phone(value: str, *, field: str = "phone") -> str:
    """Accept +91 98450 12345, 080-2345 6789 and the like: 7-15 digits with spaces, dashes, brackets."""
    phone = " ".join(value.split())
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if not _PHONE_RE.match(phone) or not 7 <= len(digits) <= 15:
        raise ValidationError({field: "Enter a phone number of 7 to 15 digits, e.g. +91 98450 12345."})
    return phone


def _required_text(value: str, *, field: str, label: str, max_length: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError({field: f"{label} is required."})
    if len(text) > max_length:
        raise ValidationError({field: f"{label} can be at most {max_length} characters."})
    return text


def _optional_text(value: str, *, field: str, label: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError({field: f"{label} can be at most {max_length} characters."})
    return text


def _cap_labels(codes: Iterable[str]) -> str:
    return ", ".join(
        caps_registry.CAPABILITIES[c].label.lower() if c in caps_registry.CAPABILITIES else c for c in sorted(codes)
    )


# --- privilege guards --------------------------------------------------------------------------


def missing_capabilities(actor: User, codes: Iterable[str]) -> set[str]:
    return set(codes) - set(actor.capabilities)


def can_grant_role(actor: User, role: Role) -> bool:
    return not missing_capabilities(actor, role.capabilities)


def _assert_can_grant_role(actor: User, role: Role, *, field: str = "role") -> None:
    missing = missing_capabilities(actor, role.capabilities)
    if missing:
        raise ValidationError(
            {field: f"You cannot give the {role.name} role: it includes access you lack ({_cap_labels(missing)})."}
        )


def _assert_can_grant_locations(actor: User, locations: list[Location], *, field: str = "locations") -> None:
    inactive = [loc.name for loc in locations if not loc.is_active]
    if inactive:
        raise ValidationError({field: f"{', '.join(inactive)} is deactivated; choose an active location."})
    actor_ids = user_location_ids(actor)
    if actor_ids is None:
        return
    if not locations:
        raise ValidationError({field: "You work only at some locations, so you cannot give access to all locations."})
    outside = [loc.name for loc in locations if loc.pk not in actor_ids]
    if outside:
        raise ValidationError({field: f"You cannot give access to {', '.join(outside)}: you do not work there."})


ADMINISTRATION_CAPABILITIES = caps_registry.ADMINISTRATION_CAPABILITIES


def can_manage(actor: User, target: User) -> bool:
    """May the actor change the target's role, locations or status?

    Colleagues holding an administration capability (settings, staff, audit, export) may only be
    managed by someone holding every capability they have, so an administrator cannot demote or
    lock out an owner. Other staff (doctors, nurses, front desk) may be managed by any staff
    manager. A manager restricted to some locations manages only staff within those locations."""
    target_caps = set(target.role.capabilities) if target.role is not None else set()
    if target_caps & ADMINISTRATION_CAPABILITIES and missing_capabilities(actor, target_caps):
        return False
    actor_ids = user_location_ids(actor)
    if actor_ids is None:
        return True
    target_ids = frozenset(target.locations.values_list("pk", flat=True)) or None
    return target_ids is not None and target_ids <= actor_ids


def _assert_can_manage(actor: User, target: User) -> None:
    if not can_manage(actor, target):
        raise ValidationError(
            f"You cannot change {target.full_name}'s access: their administrative access or locations "
            "reach further than yours."
        )


def role_holders_outside_reach(actor: User, role: Role) -> int:
    """How many holders of `role` (deactivated staff included) the actor may not manage.

    An unrestricted manager reaches everyone (whoever may edit a role holds all its capabilities,
    so `can_manage`'s administrative check passes for its holders too)."""
    if user_location_ids(actor) is None:
        return 0
    return sum(1 for holder in role.users.select_related("role") if not can_manage(actor, holder))


def _assert_can_manage_holders(actor: User, role: Role, *, verb: str) -> None:
    outside = role_holders_outside_reach(actor, role)
    if outside:
        raise ValidationError(
            f"You cannot {verb} the {role.name} role: {outside} staff member{'s' if outside != 1 else ''} holding it "
            f"work{'' if outside != 1 else 's'} beyond the locations or access you manage."
        )


def _lock_owners() -> None:
    # Serialises concurrent owner changes so two requests cannot each remove "the other" owner.
    list(
        User.objects.select_for_update(of=("self",))
        .filter(role__slug=OWNER_ROLE, is_active=True)
        .values_list("pk", flat=True)
    )


def _assert_keeps_an_owner(target: User) -> None:
    if target.is_active and target.role is not None and target.role.slug == OWNER_ROLE:
        _lock_owners()
        if active_owner_count() <= 1:
            raise ValidationError(
                f"{target.full_name} is the clinic's only active owner. Make someone else an owner first."
            )


# --- locations ---------------------------------------------------------------------------------


def _checked_timezone(value: str) -> str:
    validate_timezone(value)
    return value


def _checked_gstin(value: str | None) -> str:
    gstin = (value or "").strip().upper()
    if gstin:
        validate_gstin(gstin)
    return gstin


LOCATION_FIELDS = frozenset({"name", "address", "phone", "gstin", "registration_number", "timezone"})


def _clean_location_fields(fields: dict[str, Any], *, exclude_pk: Any = None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, check in (
        ("name", lambda v: _required_text(v, field="name", label="Name", max_length=120)),
        ("address", lambda v: _optional_text(v, field="address", label="Address", max_length=1000)),
        ("phone", lambda v: validate_phone(v or "")),
        ("gstin", _checked_gstin),
        (
            "registration_number",
            lambda v: _optional_text(v, field="registration_number", label="Registration number", max_length=60),
        ),
        ("timezone", _checked_timezone),
    ):
        if key not in fields:
            continue
        try:
            cleaned[key] = check(fields[key])
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    if "name" in cleaned:
        clash = Location.objects.filter(name__iexact=cleaned["name"]).exclude(pk=exclude_pk)
        if clash.exists():
            errors.setdefault("name", []).append(f"A location named {cleaned['name']} already exists.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def location_create(
    *,
    actor: User | None,
    name: str,
    address: str = "",
    phone: str = "",
    gstin: str = "",
    registration_number: str = "",
    timezone: str = "Asia/Kolkata",
    context: AuditContext | None = None,
) -> Location:
    fields = _clean_location_fields(
        {
            "name": name,
            "address": address,
            "phone": phone,
            "gstin": gstin,
            "registration_number": registration_number,
            "timezone": timezone,
        }
    )
    location = Location.objects.create(**fields)
    audit_record(actor=actor, action="location.create", obj=location, location_id=location.pk, context=context)
    return location


@transaction.atomic
def location_update(
    *, location: Location, actor: User | None, context: AuditContext | None = None, **fields: Any
) -> list[str]:
    unknown = set(fields) - LOCATION_FIELDS
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    cleaned = _clean_location_fields(fields, exclude_pk=location.pk)
    changed = [key for key, value in cleaned.items() if getattr(location, key) != value]
    if changed:
        for key in changed:
            setattr(location, key, cleaned[key])
        location.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="location.update",
            obj=location,
            changed_fields=changed,
            location_id=location.pk,
            context=context,
        )
    return changed


@transaction.atomic
def location_deactivate(*, location: Location, actor: User | None, context: AuditContext | None = None) -> Location:
    """Hide a branch from booking and new records. Its history stays; staff restricted to it lose access."""
    location = Location.objects.select_for_update().get(pk=location.pk)
    if not location.is_active:
        return location
    if not Location.objects.filter(is_active=True).exclude(pk=location.pk).exists():
        raise ValidationError("A clinic needs at least one active location; add another before deactivating this one.")
    location.is_active = False
    location.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="location.deactivate",
        obj=location,
        changed_fields=["is_active"],
        location_id=location.pk,
        context=context,
    )
    return location


@transaction.atomic
def location_reactivate(*, location: Location, actor: User | None, context: AuditContext | None = None) -> Location:
    location = Location.objects.select_for_update().get(pk=location.pk)
    if location.is_active:
        return location
    location.is_active = True
    location.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="location.reactivate",
        obj=location,
        changed_fields=["is_active"],
        location_id=location.pk,
        context=context,
    )
    return location


# --- staff -------------------------------------------------------------------------------------


def invite_link(*, clinic: HasSlug, user: User) -> str:
    return clinic_url(clinic, password_set_url(user))


def _send_invite_email(*, clinic: HasSlug, user: User, inviter: User | None) -> None:
    """Queue the invitation email for after the commit (a rolled-back invite sends nothing)."""
    days = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 86400)
    context = {
        "clinic_name": clinic.name,
        "full_name": user.full_name,
        "role_name": user.role.name if user.role is not None else "staff member",
        "inviter_name": inviter.full_name if inviter is not None else "Your clinic",
        "link": invite_link(clinic=clinic, user=user),
        "days": days,
    }
    subject = f"You're invited to {clinic.name} on DocOS"
    body = render_to_string("accounts/console/email_invite.txt", context)
    recipient = user.email

    def send() -> None:
        try:
            send_mail(subject, body, None, [recipient])
        except Exception:  # the invite stands; staff can press "Resend invitation"
            logger.warning("staff invitation email could not be sent", exc_info=False)

    transaction.on_commit(send)


def _clean_staff_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    checks = {
        "full_name": lambda v: _required_text(v, field="full_name", label="Name", max_length=150),
        "phone": lambda v: validate_phone(v or ""),
        "registration_number": lambda v: _optional_text(
            v, field="registration_number", label="Registration number", max_length=40
        ),
        "qualifications": lambda v: _optional_text(v, field="qualifications", label="Qualifications", max_length=200),
    }
    for key, value in fields.items():
        try:
            cleaned[key] = checks[key](value)
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def staff_invite(
    *,
    clinic: HasSlug,
    actor: User,
    email: str,
    full_name: str,
    role: Role,
    locations: list[Location] | None = None,
    phone: str = "",
    registration_number: str = "",
    qualifications: str = "",
    context: AuditContext | None = None,
) -> User:
    """Create a colleague with no password and email them a one-time link to set one.

    `locations`: the branches they may work at; empty means every location."""
    locations = list(locations or [])
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    else:
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = [f"{email} already has an account at this clinic."]
    try:
        fields = _clean_staff_fields(
            {
                "full_name": full_name,
                "phone": phone,
                "registration_number": registration_number,
                "qualifications": qualifications,
            }
        )
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        fields = {}
    for guard in (lambda: _assert_can_grant_role(actor, role), lambda: _assert_can_grant_locations(actor, locations)):
        try:
            guard()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)

    user = User.objects.create_user(email, None, role=role, **fields)
    user.locations.set(locations)
    audit_record(
        actor=actor,
        action="staff.invite",
        obj=user,
        changed_fields=["email", "full_name", "role", "locations", *[k for k, v in fields.items() if v]],
        context=context,
        metadata={"role": role.slug},
    )
    _send_invite_email(clinic=clinic, user=user, inviter=actor)
    return user


def invitation_pending(user: User) -> bool:
    return user.is_active and not user.has_usable_password()


@transaction.atomic
def staff_resend_invite(*, clinic: HasSlug, user: User, actor: User, context: AuditContext | None = None) -> User:
    """Send a fresh set-password link; the previous link stops working."""
    user = User.objects.select_for_update(of=("self",)).select_related("role").get(pk=user.pk)
    if not invitation_pending(user):
        raise ValidationError(f"{user.full_name} has already set a password or is deactivated; nothing to resend.")
    _assert_can_manage(actor, user)
    user.set_unusable_password()  # a new random marker: the old link's token no longer matches
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="staff.invite_resend", obj=user, context=context)
    _send_invite_email(clinic=clinic, user=user, inviter=actor)
    return user


_UNSET: Any = object()


@transaction.atomic
def staff_update(
    *,
    user: User,
    actor: User,
    role: Role = _UNSET,
    locations: list[Location] = _UNSET,
    context: AuditContext | None = None,
    **fields: Any,
) -> list[str]:
    """Change a colleague's role, locations or details (name, phone, registration number, qualifications).

    Returns the names of the changed fields (audited without their values)."""
    unknown = set(fields) - {"full_name", "phone", "registration_number", "qualifications"}
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    user = User.objects.select_for_update(of=("self",)).select_related("role").get(pk=user.pk)
    _assert_can_manage(actor, user)
    cleaned = _clean_staff_fields(fields)
    changed = [key for key, value in cleaned.items() if getattr(user, key) != value]
    metadata: dict[str, Any] = {}

    if role is not _UNSET and role != user.role:
        if user.role is not None and user.role.slug == OWNER_ROLE:
            _assert_keeps_an_owner(user)
        if user.pk == actor.pk:
            # Nobody picks their own access: a self-assigned role could carry a different set of
            # capabilities than anyone reviewed (and once slipped out of the clinic's 2FA rule).
            raise ValidationError({"role": "You cannot change your own role. Ask another staff manager."})
        _assert_can_grant_role(actor, role)
        metadata["role"] = {"from": user.role.slug if user.role else None, "to": role.slug}
        user.role = role
        changed.append("role")

    if locations is not _UNSET:
        new_ids = {loc.pk for loc in locations}
        if new_ids != set(user.locations.values_list("pk", flat=True)):
            _assert_can_grant_locations(actor, list(locations))
            changed.append("locations")

    if not changed:
        return []
    for key in cleaned:
        setattr(user, key, cleaned[key])
    columns = [f for f in changed if f != "locations"]
    if columns:
        user.save(update_fields=columns)
    if "locations" in changed:
        user.locations.set(locations)
        forget_user_locations(user)
    audit_record(
        actor=actor, action="staff.update", obj=user, changed_fields=changed, context=context, metadata=metadata
    )
    return changed


@transaction.atomic
def staff_deactivate(*, user: User, actor: User, context: AuditContext | None = None) -> User:
    """Block a colleague at once: inactive users fail authentication on their next request, and the
    bumped session epoch invalidates every session they hold. Their records and audit trail stay."""
    user = User.objects.select_for_update(of=("self",)).select_related("role").get(pk=user.pk)
    if user.pk == actor.pk:
        raise ValidationError("You cannot deactivate yourself. Ask another staff manager.")
    if not user.is_active:
        return user
    _assert_can_manage(actor, user)
    _assert_keeps_an_owner(user)
    User.objects.filter(pk=user.pk).update(is_active=False, session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["is_active", "session_epoch"])
    audit_record(
        actor=actor, action="staff.deactivate", obj=user, changed_fields=["is_active", "session_epoch"], context=context
    )
    return user


@transaction.atomic
def staff_reactivate(*, user: User, actor: User, context: AuditContext | None = None) -> User:
    user = User.objects.select_for_update(of=("self",)).select_related("role").get(pk=user.pk)
    if user.is_active:
        return user
    _assert_can_manage(actor, user)
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action="staff.reactivate", obj=user, changed_fields=["is_active"], context=context)
    return user


# --- roles -------------------------------------------------------------------------------------


def _clean_capabilities(codes: Iterable[str]) -> list[str]:
    try:
        cleaned = caps_registry.validate_capabilities(list(codes))
    except ValueError as exc:
        raise ValidationError({"capabilities": str(exc)}) from None
    if not cleaned:
        raise ValidationError({"capabilities": "Tick at least one capability."})
    return cleaned


def _assert_can_grant_capabilities(actor: User, codes: Iterable[str]) -> None:
    missing = missing_capabilities(actor, codes)
    if missing:
        raise ValidationError(
            {"capabilities": f"You can only give capabilities you have yourself. You lack: {_cap_labels(missing)}."}
        )


def _unique_role_slug(name: str) -> str:
    base = slugify(name)[:34] or "role"
    slug, n = base, 2
    while Role.objects.filter(slug=slug).exists() or slug in caps_registry.BUILTIN_ROLES:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _clean_role_fields(*, name: str, description: str, capabilities: Iterable[str], exclude_pk: Any = None) -> Any:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, check in (
        ("name", lambda: _required_text(name, field="name", label="Name", max_length=80)),
        ("description", lambda: _optional_text(description, field="description", label="Description", max_length=200)),
        ("capabilities", lambda: _clean_capabilities(capabilities)),
    ):
        try:
            cleaned[key] = check()
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
    if "name" in cleaned and Role.objects.filter(name__iexact=cleaned["name"]).exclude(pk=exclude_pk).exists():
        errors.setdefault("name", []).append(f"A role named {cleaned['name']} already exists.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def role_create(
    *,
    actor: User,
    name: str,
    capabilities: Iterable[str],
    description: str = "",
    context: AuditContext | None = None,
) -> Role:
    """A custom role (e.g. "Accounts") bundling capabilities the actor holds."""
    cleaned = _clean_role_fields(name=name, description=description, capabilities=capabilities)
    _assert_can_grant_capabilities(actor, cleaned["capabilities"])
    role = Role.objects.create(slug=_unique_role_slug(cleaned["name"]), is_builtin=False, **cleaned)
    audit_record(
        actor=actor,
        action="role.create",
        obj=role,
        changed_fields=["name", "description", "capabilities"],
        context=context,
        metadata={"capabilities": cleaned["capabilities"]},
    )
    return role


@transaction.atomic
def role_update(
    *,
    role: Role,
    actor: User,
    name: str,
    capabilities: Iterable[str],
    description: str = "",
    context: AuditContext | None = None,
) -> list[str]:
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_builtin:
        raise ValidationError("Built-in roles cannot be changed. Create a custom role instead.")
    cleaned = _clean_role_fields(name=name, description=description, capabilities=capabilities, exclude_pk=role.pk)
    missing_now = missing_capabilities(actor, role.capabilities)
    if missing_now:
        raise ValidationError(
            f"You cannot edit the {role.name} role: it includes access you do not have ({_cap_labels(missing_now)})."
        )
    _assert_can_grant_capabilities(actor, cleaned["capabilities"])
    changed = [key for key, value in cleaned.items() if getattr(role, key) != value]
    if not changed:
        return []
    _assert_can_manage_holders(actor, role, verb="edit")
    added = sorted(set(cleaned["capabilities"]) - set(role.capabilities))
    removed = sorted(set(role.capabilities) - set(cleaned["capabilities"]))
    for key in changed:
        setattr(role, key, cleaned[key])
    role.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="role.update",
        obj=role,
        changed_fields=changed,
        context=context,
        metadata={"added": added, "removed": removed} if (added or removed) else {},
    )
    return changed


@transaction.atomic
def role_delete(*, role: Role, actor: User, context: AuditContext | None = None) -> None:
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_builtin:
        raise ValidationError("Built-in roles cannot be deleted.")
    _assert_can_manage_holders(actor, role, verb="delete")
    in_use = role.users.count()
    if in_use:
        raise ValidationError(
            f"{in_use} staff member{'s have' if in_use != 1 else ' has'} the {role.name} role "
            "(including deactivated staff). Give them another role first."
        )
    if missing_capabilities(actor, role.capabilities):
        raise ValidationError(f"You cannot delete the {role.name} role: it includes access you do not have.")
    audit_record(
        actor=actor,
        action="role.delete",
        obj=role,
        context=context,
        metadata={"slug": role.slug, "capabilities": list(role.capabilities)},
    )
    role.delete()


# --- API tokens --------------------------------------------------------------------------------


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def api_token_create(
    *,
    user: User,
    actor: User | None,
    name: str,
    expires_at: datetime | None = None,
    context: AuditContext | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[ApiToken, str]:
    """A personal API token acting with `user`'s capabilities. Returns the token and its secret;
    only the secret's SHA-256 and a short prefix are stored, so the secret cannot be shown again."""
    name = _required_text(name, field="name", label="Name", max_length=80)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if not user.is_active:
        raise ValidationError("Deactivated staff cannot have API tokens.")
    User.objects.select_for_update().filter(pk=user.pk).first()
    usable = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(expires_at__lte=timezone.now())
    if usable.count() >= MAX_ACTIVE_TOKENS_PER_USER:
        raise ValidationError(
            f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens. Revoke one you no longer use first."
        )
    secret = new_token_secret()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:12], token_hash=hash_token(secret), expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action="api_token.create",
        obj=token,
        context=context,
        metadata={"user_id": str(user.pk), **(metadata or {})},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User, context: AuditContext | None = None) -> ApiToken:
    """Revoke a token at once. Its owner may revoke it, and so may a staff manager who may manage
    the owner (`can_manage`: not an owner's token from an administrator, not another branch's)."""
    token = ApiToken.objects.select_for_update(of=("self",)).select_related("user__role").get(pk=token.pk)
    if token.user_id != actor.pk:
        if not actor.has_capability("staff.manage"):
            raise ValidationError("You can only revoke your own tokens.")
        _assert_can_manage(actor, token.user)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoke",
        obj=token,
        changed_fields=["revoked_at"],
        context=context,
        metadata={"user_id": str(token.user_id)},
    )
    return token


# --- platform staff (public schema) ------------------------------------------------------------------


def platform_staff_save(
    *, email: str, password: str | None, full_name: str = "", reset_totp: bool = False, totp_secret: str | None = None
) -> tuple[User, bool, str | None]:
    """Create or update a DocOS platform staff account in the public schema (`platform_staff_create`,
    the demo). A password given replaces the old one and ends the account's sessions, and so does a
    new TOTP secret for an existing account. Platform staff
    always have TOTP: a new account, `reset_totp` or an account without one gets a fresh secret
    (`totp_secret`, else random), confirmed at once and returned so the caller can show it once.
    Returns (user, created, new TOTP secret or None)."""
    import pyotp
    from django_tenants.utils import get_public_schema_name, schema_context

    email = (email or "").strip().lower()
    validate_email(email)
    with schema_context(get_public_schema_name()), transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        created = user is None
        if user is None:
            user = User(email=email, full_name=full_name or email.split("@")[0])
        elif full_name:
            user.full_name = full_name
        if password is not None:
            user_validate_password(password, user=user)
            user.set_password(password)
            if not created:
                user.session_epoch += 1
        elif created:
            user.set_unusable_password()
        user.is_platform_staff = True
        user.is_active = True
        new_secret: str | None = None
        if created or reset_totp or not user.totp_enabled:
            new_secret = totp_secret or pyotp.random_base32()
            user.totp_secret = new_secret
            user.totp_confirmed_at = timezone.now()
            if not created and password is None:  # a lost or stolen authenticator: end its sessions
                user.session_epoch += 1
        user.save()
        audit_record(
            actor=None,
            action="platform.staff_create" if created else "platform.staff_update",
            obj=user,
            changed_fields=[*(["password"] if password is not None else []), *(["totp_secret"] if new_secret else [])],
        )
    return user, created, new_secret
