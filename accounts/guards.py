"""The checks every view and service repeats: who is acting, may they, and at which branch."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Location, User
from accounts.selectors import user_can_access_location


def staff_user(request: Any) -> User:
    """The signed-in staff member of a request (views run behind a capability check, so one exists)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in")
    return user


def require_capability(actor: User | None, capability: str, what: str) -> None:
    """For services: refuse an actor without `capability` ("You are not allowed to <what>.")."""
    if actor is None or not actor.has_capability(capability):
        raise PermissionDenied(f"You are not allowed to {what}.")


def location_problem(actor: User, location: Location | None) -> str | None:
    """Why `actor` may not record something at `location`, or None when they may."""
    if location is None:
        return "Choose the location."
    if not location.is_active:
        return f"{location.name} is closed; choose an active location."
    if not user_can_access_location(actor, location):
        return f"You do not work at {location.name}."
    return None


def require_location(actor: User, location: Location | None) -> None:
    """For services: the record is made at a branch the actor works at (ValidationError on `location`)."""
    problem = location_problem(actor, location)
    if problem is not None:
        raise ValidationError({"location": problem})
