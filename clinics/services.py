"""Clinic lifecycle: create (by cloning the template schema), suspend, reactivate, crypto-shred."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.clone import CLONE_SCHEMA_FUNCTION
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists, tenant_context

from accounts.models import Location, Role, User
from audit.context import AuditContext
from audit.services import audit_record
from clinics.models import Clinic, Domain, schema_name_for_slug
from clinics.template_schema import ensure_template_schema, template_schema_name
from docos import crypto
from docos.capabilities import BUILTIN_ROLES
from docos.clinic_seeds import run_clinic_seeds
from docos.tenancy import clinic_host, clinic_url, use_public_schema


@dataclass(frozen=True)
class CreatedClinic:
    clinic: Clinic
    owner: User
    url: str
    set_password_url: str | None


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
    """Create a clinic's schema by cloning the migrated template, then seed roles, locations and the owner.

    All or nothing: the Clinic row, its domain, the cloned schema (PostgreSQL DDL is transactional)
    and the seed rows are written in one transaction, so a failure at any step leaves nothing behind.
    """
    from accounts.services import password_set_url, user_validate_password

    use_public_schema()
    slug = slug.strip().lower()
    owner_email = owner_email.strip()
    clinic = Clinic(
        slug=slug,
        name=name.strip(),
        schema_name=schema_name_for_slug(slug),
        contact_email=contact_email or owner_email,
        **profile,
    )
    if Clinic.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A clinic with the address {slug!r} already exists."})
    clinic.full_clean(exclude=["schema_name"])
    if schema_exists(clinic.schema_name, case_sensitive=False):
        raise ValidationError(
            {
                "slug": f"The address {slug!r} cannot be used: its database schema already exists "
                "(left by an earlier clinic)."
            }
        )
    locations = tuple(location.strip() for location in locations)
    if not locations or not all(locations):
        raise ValidationError({"locations": "A clinic needs at least one location, and every location a name."})
    if len({location.lower() for location in locations}) != len(locations):
        raise ValidationError({"locations": "Location names must differ (ignoring case)."})
    try:
        validate_email(owner_email)
    except ValidationError:
        raise ValidationError({"owner_email": "Enter a valid email address for the owner."}) from None
    owner_full_name = owner_name.strip() or owner_email.split("@")[0]
    if owner_password:
        user_validate_password(owner_password, email=owner_email, full_name=owner_full_name)

    ensure_template_schema()
    use_public_schema()
    crypto.forget_clinic_key(clinic.schema_name)  # a deleted clinic may have used this schema name before
    try:
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
                    # A one-branch clinic's branch is at its billing address until told otherwise.
                    address = clinic.billing_address if len(locations) == 1 else ""
                    Location.objects.create(name=location_name, address=address, timezone=clinic.timezone)
                owner = User.objects.create_user(
                    owner_email, owner_password, full_name=owner_full_name, role=roles["owner"]
                )
                run_clinic_seeds()  # what the apps ship (e.g. WhatsApp message templates)
                audit_record(actor=None, action="clinic.create", obj=clinic, metadata={"slug": slug})
                set_url = None if owner_password else clinic_url(clinic, password_set_url(owner))
    except IntegrityError:
        use_public_schema()
        if Clinic.objects.filter(slug=slug).exists():  # a concurrent creation took the address first
            raise ValidationError({"slug": f"A clinic with the address {slug!r} already exists."}) from None
        raise
    finally:
        use_public_schema()
    return CreatedClinic(clinic=clinic, owner=owner, url=clinic_url(clinic), set_password_url=set_url)


# --- cloning -------------------------------------------------------------------------------------
# django-tenants' CloneSchema re-runs its ~4,600-line installer script (DROP TYPE ... CASCADE,
# CREATE OR REPLACE FUNCTION ...) before every clone. That costs a round of catalog writes per
# clinic and, inside the creation transaction, holds an exclusive lock on the `cloneparms` type
# that serialises every concurrent clinic creation. We install the functions once per database,
# tagged with a hash of the script, and only check the tag (one catalog read) before each clone.
_CLONE_LOCK = "docos:clone_schema_function"
_CLONE_FUNCTION_SQL = CLONE_SCHEMA_FUNCTION.format(db_user=settings.DATABASES["default"].get("USER") or "postgres")
CLONE_FUNCTION_TAG = "docos-clone:" + hashlib.sha256(_CLONE_FUNCTION_SQL.encode()).hexdigest()[:16]


def _installed_clone_function_tag() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def ensure_clone_function() -> bool:
    """Install (or upgrade) the clone_schema function unless this exact version is present.

    Returns True if it was (re)installed. Runs in the caller's transaction, so a rollback also
    rolls the installation back and the next call simply installs it again.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", [_CLONE_LOCK])
        if _installed_clone_function_tag() == CLONE_FUNCTION_TAG:
            return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_CLONE_LOCK])
            if _installed_clone_function_tag() == CLONE_FUNCTION_TAG:  # another process won the race
                return False
            cursor.execute(_CLONE_FUNCTION_SQL)
            cursor.execute(  # the tag is a hex digest we computed, not input
                f"COMMENT ON FUNCTION public.clone_schema(text, text, public.cloneparms[]) IS '{CLONE_FUNCTION_TAG}'"
            )
    return True


def clone_template_into(schema_name: str) -> str:
    """Copy the template schema (tables, sequences, django_migrations rows) to a new schema.

    The clone carries the template's migration records, so no migration runs for a new clinic.
    The template holds no data rows besides that bookkeeping (django_migrations, content types,
    permissions), which is what makes every clinic start empty with fresh sequences.

    Replays the template's DDL in one batch (clinics.schema_clone) when the template holds only
    what that supports, else falls back to django-tenants' pg-clone-schema. Returns which one ran.
    """
    from clinics.schema_clone import clone_schema_fast

    template = template_schema_name()
    use_public_schema()
    if not schema_exists(template):
        raise RuntimeError(f"Template schema {template!r} is missing; run `manage.py migrate_schemas`.")
    if schema_exists(schema_name, case_sensitive=False):
        raise ValidationError(f"The schema {schema_name!r} already exists.", code="schema_exists")
    with transaction.atomic():
        if clone_schema_fast(template, schema_name):
            method = "replay"
        else:
            clone_with_pg_clone_schema(template, schema_name)
            method = "pg-clone-schema"
    use_public_schema()
    return method


def clone_with_pg_clone_schema(template: str, schema_name: str) -> None:
    """django-tenants' general-purpose clone (views, functions, triggers, grants, ...)."""
    with transaction.atomic():
        ensure_clone_function()
        with connection.cursor() as cursor:
            # Shared lock: clones run concurrently; only a (re)installation of the function waits.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", [_CLONE_LOCK])
            cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, schema_name])
        _align_constraint_names(template, schema_name)


def _align_constraint_names(template: str, schema_name: str) -> None:
    """clone_schema recreates unnamed-looking UNIQUE constraints (unique_together, many-to-many
    tables) with PostgreSQL's default `<table>_<columns>_key` names instead of Django's hashed ones.
    Give them back the template's names so a clone is indistinguishable from a migrated schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH cons AS (
                SELECT n.nspname AS schema, c.relname AS tbl, con.conname AS name, con.contype,
                       pg_get_constraintdef(con.oid) AS def
                FROM pg_constraint con
                JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN (%s, %s) AND con.contype IN ('u', 'p', 'x')
            )
            SELECT clone.tbl, clone.name, tpl.name
            FROM cons tpl JOIN cons clone
              ON clone.schema = %s AND tpl.schema = %s AND clone.tbl = tpl.tbl
             AND clone.contype = tpl.contype AND clone.def = tpl.def AND clone.name <> tpl.name
            WHERE NOT EXISTS (
                SELECT 1 FROM cons same WHERE same.schema = %s AND same.tbl = tpl.tbl AND same.name = tpl.name
            )
            """,
            [template, schema_name, schema_name, template, schema_name],
        )
        renames = cursor.fetchall()
        qn = connection.ops.quote_name
        for table, current, wanted in renames:
            cursor.execute(f"ALTER TABLE {qn(schema_name)}.{qn(table)} RENAME CONSTRAINT {qn(current)} TO {qn(wanted)}")


@transaction.atomic
def clinic_set_status(
    *,
    clinic: Clinic,
    status: str,
    actor: User | None = None,
    reason: str = "",
    context: AuditContext | None = None,
) -> Clinic:
    """Suspend, reactivate or mark a clinic as closing. Nothing is deleted: a suspended clinic's
    staff see an "account suspended" page (the API answers 403 clinic_suspended) until it is
    reactivated. Audited in the clinic's own log; a no-op when the status does not change.
    `reason` is a short operator note (e.g. "unpaid invoice"), never patient data."""
    if status not in Clinic.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}; use one of {', '.join(Clinic.Status.values)}."})
    reason = reason.strip()
    if len(reason) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."})
    with schema_context(get_public_schema_name()):
        locked = Clinic.objects.select_for_update().get(pk=clinic.pk)
        previous = locked.status
        clinic.status = status
        if previous == status:
            return clinic
        locked.status = status
        locked.save(update_fields=["status"])
    with schema_context(clinic.schema_name):
        audit_record(
            actor=actor,
            action="clinic.status",
            obj=clinic,
            changed_fields=["status"],
            context=context,
            metadata={"from": previous, "to": status, **({"reason": reason} if reason else {})},
        )
    return clinic


def clinic_data_key(clinic: Clinic) -> bytes:
    """The clinic's data key (files and clinic-keyed fields). Raises CryptoError once it has been destroyed."""
    if clinic.wrapped_data_key is None:
        raise crypto.DataKeyUnavailableError(
            f"The data key of clinic {clinic.slug!r} was destroyed; its files and clinical text are unreadable."
        )
    return crypto.unwrap_data_key(clinic.schema_name, bytes(clinic.wrapped_data_key))


def clinic_owning_schema(schema_name: str) -> Clinic | None:
    """The clinic whose schema this is, read from the public schema whatever the search path (the
    lookup behind clinic-keyed fields when the connection's tenant is not that clinic, e.g. in a
    migration, which runs with only the clinic's schema on the search path)."""
    table = f"{connection.ops.quote_name(get_public_schema_name())}.{connection.ops.quote_name(Clinic._meta.db_table)}"
    found = list(Clinic.objects.raw(f"SELECT * FROM {table} WHERE schema_name = %s", [schema_name]))
    return found[0] if found else None


@transaction.atomic
def clinic_destroy_data_key(*, clinic: Clinic, actor: User | None = None) -> None:
    """Crypto-shredding: without the wrapped key no file of this clinic, and no value of a clinic-keyed
    field in its schema, can be decrypted. Nothing more is written with the key; processes that had
    it cached may still read for up to crypto.CLINIC_KEY_CACHE_SECONDS (this one forgets it now)."""
    clinic.wrapped_data_key = None
    clinic.data_key_destroyed_at = timezone.now()
    clinic.save(update_fields=["wrapped_data_key", "data_key_destroyed_at"])
    crypto.forget_clinic_key(clinic.schema_name)
    with schema_context(clinic.schema_name):
        audit_record(actor=actor, action="clinic.data_key_destroy", obj=clinic)


PROFILE_FIELDS = ("name", "billing_address", "billing_state", "gstin", "timezone", "contact_email", "default_language")
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
    *, clinic: Clinic, actor: User | None, context: AuditContext | None = None, logo: Any = _KEEP_LOGO, **fields: Any
) -> list[str]:
    """Update the clinic's profile (name, billing details, GSTIN, time zone, language, contact email, logo).

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
    audit_record(actor=actor, action="clinic.profile_update", obj=clinic, changed_fields=changed, context=context)
    return changed


@transaction.atomic
def clinic_security_update(
    *, clinic: Clinic, actor: User | None, context: AuditContext | None = None, **fields: Any
) -> list[str]:
    """Idle timeout (5-60 minutes) and whether owners and administrators must use two-factor sign-in."""
    changed = _clinic_apply(clinic=clinic, allowed=SECURITY_FIELDS, fields=fields)
    if changed:
        clinic.save(update_fields=changed)
        audit_record(actor=actor, action="clinic.security_update", obj=clinic, changed_fields=changed, context=context)
    return changed


# --- vendor webhook routing (public schema) ---------------------------------------------------------


@transaction.atomic
def vendor_routes_set(*, vendor: str, clinic: Clinic, account_ids: list[str]) -> None:
    """Make `account_ids` the clinic's accounts at `vendor` (replacing its earlier ones). Runs in
    the caller's transaction, in any schema (the table is public). An account another clinic has
    connected is refused: one vendor account routes to one clinic."""
    from clinics.models import VendorRoute

    wanted = sorted({a.strip() for a in account_ids if a and a.strip()})
    taken = VendorRoute.objects.filter(vendor=vendor, account_id__in=wanted).exclude(clinic=clinic).exists()
    if taken:
        raise ValidationError(
            {"account_id": "This account is already connected to another clinic."}, code="vendor_account_taken"
        )
    VendorRoute.objects.filter(vendor=vendor, clinic=clinic).exclude(account_id__in=wanted).delete()
    for account_id in wanted:
        VendorRoute.objects.get_or_create(vendor=vendor, account_id=account_id, defaults={"clinic": clinic})


def vendor_route_clinic(vendor: str, account_id: str) -> Clinic | None:
    """The active clinic that connected this vendor account, or None (the kernel's tenant resolver)."""
    from clinics.models import VendorRoute

    route = (
        VendorRoute.objects.select_related("clinic")
        .filter(vendor=vendor, account_id=account_id, clinic__status=Clinic.Status.ACTIVE)
        .first()
    )
    return route.clinic if route is not None else None
