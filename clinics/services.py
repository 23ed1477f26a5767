"""Clinic lifecycle: create (by cloning the template schema), suspend, reactivate, crypto-shred."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists, tenant_context

from accounts.audit import audit_record
from accounts.capabilities import BUILTIN_ROLES
from accounts.models import Location, Role, User
from clinics.models import Clinic, Domain, schema_name_for_slug
from clinics.template_schema import ensure_template_schema, template_schema_name
from docos import crypto
from docos.tenancy import use_public_schema


@dataclass(frozen=True)
class CreatedClinic:
    clinic: Clinic
    owner: User
    url: str
    set_password_url: str | None


def clinic_host(slug: str) -> str:
    return f"{slug}.{settings.DOCOS_BASE_DOMAIN}"


def clinic_url(clinic: Clinic, path: str = "/") -> str:
    port = f":{settings.DOCOS_PUBLIC_PORT}" if settings.DOCOS_PUBLIC_PORT else ""
    return f"{settings.DOCOS_PUBLIC_URL_SCHEME}://{clinic_host(clinic.slug)}{port}{path}"


def clinic_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_name: str = "",
    owner_password: str | None = None,
    contact_email: str = "",
    locations: tuple[str, ...] = ("Main clinic",),
    **profile: str,
) -> CreatedClinic:
    """Create a clinic's schema by cloning the migrated template, then seed roles, locations and the owner."""
    from accounts.services import password_set_url, user_validate_password

    clinic = Clinic(
        slug=slug,
        name=name,
        schema_name=schema_name_for_slug(slug),
        contact_email=contact_email or owner_email,
        **profile,
    )
    clinic.full_clean(exclude=["schema_name"])
    if owner_password:
        user_validate_password(owner_password, email=owner_email, full_name=owner_name)
    if Clinic.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A clinic with the address {slug!r} already exists."})

    ensure_template_schema()
    use_public_schema()
    with transaction.atomic():
        clinic.wrapped_data_key = crypto.wrap_data_key(clinic.schema_name, crypto.new_data_key())
        clinic.save()  # auto_create_schema: clones clinic_template (see Clinic.create_schema)
        Domain.objects.create(domain=clinic_host(slug), tenant=clinic, is_primary=True)
        with tenant_context(clinic):
            roles = {
                slug_: Role.objects.create(slug=slug_, name=label, capabilities=sorted(caps), is_builtin=True)
                for slug_, (label, caps) in BUILTIN_ROLES.items()
            }
            for location_name in locations:
                Location.objects.create(name=location_name, timezone=clinic.timezone)
            owner = User.objects.create_user(
                owner_email, owner_password, full_name=owner_name or owner_email.split("@")[0], role=roles["owner"]
            )
            audit_record(actor=None, action="clinic.create", obj=clinic, metadata={"slug": slug})
            set_url = None if owner_password else clinic_url(clinic, password_set_url(owner))
    use_public_schema()
    return CreatedClinic(clinic=clinic, owner=owner, url=clinic_url(clinic), set_password_url=set_url)


def clone_template_into(schema_name: str) -> None:
    """Copy the template schema (tables, sequences, django_migrations rows) to a new schema.

    The clone carries the template's migration records, so the per-tenant migrate run that
    django-tenants would do afterwards (with --fake) has nothing to record and is skipped.
    """
    template = template_schema_name()
    if not schema_exists(template):
        raise RuntimeError(f"Template schema {template!r} is missing; run `manage.py migrate_schemas`.")
    CloneSchema().clone_schema(template, schema_name, "DATA")
    use_public_schema()


@transaction.atomic
def clinic_set_status(*, clinic: Clinic, status: str, actor: User | None = None) -> Clinic:
    if status not in Clinic.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    previous = clinic.status
    clinic.status = status
    clinic.save(update_fields=["status"])
    with schema_context(clinic.schema_name):
        audit_record(
            actor=actor,
            action="clinic.status",
            obj=clinic,
            changed_fields=["status"],
            metadata={"from": previous, "to": status},
        )
    return clinic


def clinic_data_key(clinic: Clinic) -> bytes:
    """The clinic's file-encryption key. Raises CryptoError once the key has been destroyed."""
    if clinic.wrapped_data_key is None:
        raise crypto.CryptoError(f"The data key of clinic {clinic.slug!r} was destroyed; its files are unreadable.")
    return crypto.unwrap_data_key(clinic.schema_name, bytes(clinic.wrapped_data_key))


@transaction.atomic
def clinic_destroy_data_key(*, clinic: Clinic, actor: User | None = None) -> None:
    """Crypto-shredding: without the wrapped key no file ciphertext of this clinic can be decrypted."""
    clinic.wrapped_data_key = None
    clinic.data_key_destroyed_at = timezone.now()
    clinic.save(update_fields=["wrapped_data_key", "data_key_destroyed_at"])
    with schema_context(clinic.schema_name):
        audit_record(actor=actor, action="clinic.data_key_destroy", obj=clinic)


PROFILE_FIELDS = ("name", "billing_address", "billing_state", "gstin", "timezone", "contact_email")
SECURITY_FIELDS = ("idle_timeout_minutes", "require_2fa_for_admins")
_KEEP_LOGO = object()


def _clinic_apply(*, clinic: Clinic, allowed: tuple[str, ...], fields: dict[str, Any]) -> list[str]:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(unknown)}")
    if isinstance(fields.get("gstin"), str):
        fields["gstin"] = fields["gstin"].strip().upper()
    changed = [name for name, value in fields.items() if getattr(clinic, name) != value]
    previous = {name: getattr(clinic, name) for name in changed}
    for name in changed:
        setattr(clinic, name, fields[name])
    try:
        clinic.full_clean(exclude=[f.name for f in Clinic._meta.fields if f.name not in allowed])
    except ValidationError:
        for name, value in previous.items():  # leave request.tenant as it was
            setattr(clinic, name, value)
        raise
    return changed


@transaction.atomic
def clinic_profile_update(
    *, clinic: Clinic, actor: User | None, request: Any = None, logo: Any = _KEEP_LOGO, **fields: Any
) -> list[str]:
    """Update the clinic's profile (name, billing details, GSTIN, time zone, contact email, logo).

    `logo`: an uploaded PNG/JPEG file to replace the logo, None to remove it, omitted to keep it.
    Returns the names of the changed fields, which are audited (never their values)."""
    from clinics.logo import validate_logo

    old_logo_name = clinic.logo.name if clinic.logo else ""
    ext = validate_logo(logo) if logo is not _KEEP_LOGO and logo is not None else ""
    changed = _clinic_apply(clinic=clinic, allowed=PROFILE_FIELDS, fields=fields)
    if logo is not _KEEP_LOGO:
        if logo is None:
            if old_logo_name:
                clinic.logo = None  # type: ignore[assignment]
                changed.append("logo")
        else:
            logo.seek(0)
            clinic.logo.save(f"{clinic.slug}-{secrets.token_hex(8)}.{ext}", File(logo), save=False)
            changed.append("logo")
    if not changed:
        return []
    clinic.save(update_fields=changed)
    if "logo" in changed and old_logo_name:
        storage = clinic.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo_name), robust=True)
    audit_record(actor=actor, action="clinic.profile_update", obj=clinic, changed_fields=changed, request=request)
    return changed


@transaction.atomic
def clinic_security_update(*, clinic: Clinic, actor: User | None, request: Any = None, **fields: Any) -> list[str]:
    """Idle timeout (5-60 minutes) and whether owners and administrators must use two-factor sign-in."""
    changed = _clinic_apply(clinic=clinic, allowed=SECURITY_FIELDS, fields=fields)
    if changed:
        clinic.save(update_fields=changed)
        audit_record(actor=actor, action="clinic.security_update", obj=clinic, changed_fields=changed, request=request)
    return changed
