"""Capability checks for HTML views and the API, all driven by `docos.capabilities`.

Every tenant view declares what it needs: `@capability_required("patients.view")`,
`@login_only` (any signed-in staff) or `@public` (sign-in pages). The URL walker test fails for
any view that declares nothing, and the DRF default permission denies API views without
`required_capability`.

The platform console on the public (bare) domain declares `@platform_staff_required`: DocOS's own
operators (`User.is_platform_staff`, public-schema users) only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django_tenants.utils import get_public_schema_name
from rest_framework.permissions import BasePermission

from docos.capabilities import ALL

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])  # streaming responses too

ACCESS_ATTR = "docos_access"  # "public", "login", "platform", or a capability code
PLATFORM_ACCESS = "platform"
PLATFORM_LOGIN_URL = "/platform/login/"


def _mark(view: Any, access: str) -> None:
    setattr(view, ACCESS_ATTR, access)


def public(view: ViewFunc) -> ViewFunc:
    _mark(view, "public")
    return view


def login_only(view: ViewFunc) -> ViewFunc:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return view(request, *args, **kwargs)

    _mark(wrapped, "login")
    return wrapped  # type: ignore[return-value]


def capability_required(code: str) -> Callable[[ViewFunc], ViewFunc]:
    if code not in ALL:
        raise ValueError(f"Unknown capability {code!r}; add it to docos.capabilities first.")

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not request.user.has_capability(code):
                raise PermissionDenied(code)
            return view(request, *args, **kwargs)

        _mark(wrapped, code)
        return wrapped  # type: ignore[return-value]

    return decorator


def platform_staff_required(view: ViewFunc) -> ViewFunc:
    """DocOS platform staff on the public domain only: on a clinic's host a 404 (the console does not
    exist there), an anonymous visitor is sent to the platform sign-in, any other signed-in user 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        tenant = getattr(request, "tenant", None)
        if tenant is None or getattr(tenant, "schema_name", None) != get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), PLATFORM_LOGIN_URL)
        if not getattr(request.user, "is_platform_staff", False):
            raise PermissionDenied("platform staff only")
        return view(request, *args, **kwargs)

    _mark(wrapped, PLATFORM_ACCESS)
    return wrapped  # type: ignore[return-value]


class HasRequiredCapability(BasePermission):
    """DRF default: the view must name `required_capability` (or `"login"`); otherwise deny."""

    def has_permission(self, request: Any, view: Any) -> bool:
        required = getattr(view, "required_capability", None)
        user = request.user
        if required is None or user is None or not user.is_authenticated:
            return False
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # a method the view does not implement: let DRF answer 405, not 403
        if isinstance(required, dict):  # per-method: {"GET": "x.view", "POST": "x.edit"}
            required = required.get("GET" if request.method == "HEAD" else request.method)
        if required is None:
            return False
        return required == "login" or user.has_capability(required)
