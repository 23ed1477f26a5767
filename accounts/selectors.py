"""Reads about staff, roles, locations and API tokens, and the location scoping other apps reuse.

Location scoping: a user with no assigned locations works at every location of the clinic; a user
with assigned locations sees only those. Every app's selectors call `scope_to_user_locations` on
querysets of location-bound records (appointments, visits, invoices, ...).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import ApiToken, Location, Role, User
from docos.ids import parse_uuid

M = TypeVar("M", bound=Model)

_LOCATION_IDS_CACHE = "_docos_location_ids"


def user_location_ids(user: Any) -> frozenset[uuid.UUID] | None:
    """The ids of the locations a user is restricted to, or None when the user may see every location.

    Cached on the user object for the rest of the request."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return frozenset()
    if _LOCATION_IDS_CACHE in user.__dict__:
        cached: frozenset[uuid.UUID] | None = user.__dict__[_LOCATION_IDS_CACHE]
        return cached
    ids = frozenset(user.locations.values_list("pk", flat=True)) or None
    user.__dict__[_LOCATION_IDS_CACHE] = ids
    return ids


def forget_user_locations(user: Any) -> None:
    """Drop the cached location ids (after the user's locations changed in this request)."""
    getattr(user, "__dict__", {}).pop(_LOCATION_IDS_CACHE, None)


def own_location_access(user: Any, location_id: Any) -> Location:
    """One of the user's active locations, by an id from a request: another branch's, an inactive
    and an unknown id raise the same 404."""
    pk = parse_uuid(location_id)
    location = locations_for(user).filter(pk=pk).first() if pk is not None else None
    if location is None:
        raise Http404("No such location")
    return location


def locations_for(user: Any) -> QuerySet[Location]:
    """Active locations the user may work at: all of them when the user has no assigned locations."""
    active = Location.objects.filter(is_active=True)
    ids = user_location_ids(user)
    if ids is None:
        return active
    return active.filter(pk__in=ids)


def scope_to_user_locations(
    queryset: QuerySet[M], user: Any, field: str = "location", *, include_unassigned: bool = False
) -> QuerySet[M]:
    """Restrict `queryset` to rows whose `field` (a Location foreign key or location id, possibly a
    lookup path like "appointment__location") is one of the user's locations.

    Unrestricted users get the queryset unchanged. Records at a location the user is assigned to
    stay visible after that location is deactivated (history). Rows with no location are hidden
    from restricted users unless `include_unassigned` is set. Anonymous users see nothing.
    """
    ids = user_location_ids(user)
    if ids is None:
        return queryset
    condition = Q(**{f"{field}__in": ids})
    if include_unassigned:
        condition |= Q(**{f"{field}__isnull": True})
    return queryset.filter(condition)


def user_can_access_location(user: Any, location: Location | uuid.UUID | None) -> bool:
    ids = user_location_ids(user)
    if ids is None:
        return True
    if location is None:
        return False
    location_id = location.pk if isinstance(location, Location) else location
    return location_id in ids


# --- console lists -----------------------------------------------------------------------------


def location_list(*, include_inactive: bool = True) -> QuerySet[Location]:
    locations = Location.objects.annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
    if not include_inactive:
        locations = locations.filter(is_active=True)
    return locations.order_by("-is_active", "name")


STAFF_STATUSES = {
    "active": "Active",
    "invited": "Invitation pending",
    "inactive": "Deactivated",
    "all": "Everyone",
}


def staff_visible_to(actor: Any) -> QuerySet[User]:
    """The clinic's staff the actor may see in the staff directory (console and API).

    An unrestricted manager sees everyone. A manager restricted to some locations sees only staff
    whose locations all lie within theirs: not colleagues of other branches, and not staff who
    work at every location (they reach further than the manager). Anyone else gives a 404."""
    users = User.objects.filter(is_platform_staff=False)
    ids = user_location_ids(actor)
    if ids is None:
        return users
    assigned = User.locations.through.objects.filter(user_id=OuterRef("pk"))
    return users.filter(Exists(assigned)).exclude(Exists(assigned.exclude(location_id__in=ids)))


def staff_search(*, actor: Any, query: str = "", status: str = "active", role: Role | None = None) -> QuerySet[User]:
    """Staff visible to the actor (`staff_visible_to`), filtered by name/email/phone text, status and role."""
    users = staff_visible_to(actor).select_related("role").prefetch_related("locations")
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "invited":
        users = users.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX)
    elif status == "inactive":
        users = users.filter(is_active=False)
    if role is not None:
        users = users.filter(role=role)
    text = query.strip()
    if text:
        users = users.filter(Q(full_name__icontains=text) | Q(email__icontains=text) | Q(phone__icontains=text))
    return users.order_by("full_name", "email")


def staff_counts(*, actor: Any) -> dict[str, int]:
    """Active staff and pending invitations visible to the actor, for the console overview."""
    return (
        staff_visible_to(actor)
        .filter(is_active=True)
        .aggregate(active=Count("pk"), pending=Count("pk", filter=Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)))
    )


def active_owner_count() -> int:
    return User.objects.filter(is_active=True, role__slug="owner").count()


def role_list() -> QuerySet[Role]:
    """Built-in roles first, then custom ones; with the number of staff holding each."""
    return Role.objects.annotate(
        staff_count=Count("users", filter=Q(users__is_active=True)), all_staff_count=Count("users")
    ).order_by("-is_builtin", "name")


def roles_grantable_by(actor: User) -> list[Role]:
    """Roles whose every capability the actor holds (no privilege escalation)."""
    held = actor.capabilities
    return [role for role in Role.objects.order_by("-is_builtin", "name") if set(role.capabilities) <= held]


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


# Who sees patients in consultation: the people a booking, a visit or a certificate names. Signing
# one's own clinical notes is the mark of it; a nurse records vitals and notes (clinical.edit) but
# is not booked, and a role that only administers never appears in a list of clinicians.
CLINICIAN_CAPABILITY = "clinical.sign"


def is_clinician(user: User) -> bool:
    return user.has_capability(CLINICIAN_CAPABILITY)


def is_sole_location(location: Location) -> bool:
    """True when the location is the clinic's only active one (its documents may then print the
    clinic's billing address if the location has none of its own)."""
    return not Location.objects.filter(is_active=True).exclude(pk=location.pk).exists()


def clinician_choices() -> QuerySet[User]:
    """Active staff who see patients (see CLINICIAN_CAPABILITY), by name."""
    return User.objects.filter(
        is_active=True, is_platform_staff=False, role__capabilities__contains=[CLINICIAN_CAPABILITY]
    ).order_by("full_name")
