"""The clinic settings console (/settings/): profile, locations, security, staff, roles, API tokens.

Views parse, call one service or selector and render. Every view declares its access.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms_console import (
    ApiTokenForm,
    LocationForm,
    RoleForm,
    StaffEditForm,
    StaffInviteForm,
    StaffSearchForm,
    add_service_errors,
    staff_edit_initial,
)
from accounts.models import ApiToken, Location, Role, User
from audit.context import audit_context
from docos.permissions import capability_required, login_only

PAGE_SIZE = 50
CONSOLE_CAPS = ("settings.manage", "staff.manage", "audit.view")


def _clinic(request: HttpRequest) -> Any:
    """The clinic (tenant) whose host served the request."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not getattr(tenant, "slug", None):
        raise Http404
    return tenant


def console_actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> Page[Any]:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def render_console(
    request: HttpRequest, template: str, context: dict[str, Any], *, tab: str, status: int = 200
) -> HttpResponse:
    return render(request, f"accounts/console/{template}", {"tab": tab, **context}, status=status)


# --- overview ----------------------------------------------------------------------------------


@login_only
def overview(request: HttpRequest) -> HttpResponse:
    user = console_actor(request)
    if not any(user.has_capability(code) for code in CONSOLE_CAPS):
        raise PermissionDenied("settings")
    context: dict[str, Any] = {}
    if user.has_capability("settings.manage"):
        context["location_count"] = Location.objects.filter(is_active=True).count()
    if user.has_capability("staff.manage"):
        counts = selectors.staff_counts(actor=user)
        context["staff_count"], context["pending_count"] = counts["active"], counts["pending"]
        context["custom_role_count"] = Role.objects.filter(is_builtin=False).count()
    context["clinic"] = getattr(request, "tenant", None)
    return render_console(request, "overview.html", context, tab="overview")


# --- locations ---------------------------------------------------------------------------------


@capability_required("settings.manage")
def location_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.location_list())
    return render_console(request, "locations.html", {"page": page}, tab="locations")


@capability_required("settings.manage")
def location_create(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    form = LocationForm(request.POST or None, initial={"timezone": clinic.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(
                actor=console_actor(request), context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added {location.name}.")
            return redirect("console_locations")
    return render_console(request, "location_form.html", {"form": form, "location": None}, tab="locations")


@capability_required("settings.manage")
def location_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    initial = {
        field: getattr(location, field) for field in ("name", "address", "phone", "gstin", "registration_number")
    }
    form = LocationForm(request.POST or None, initial={**initial, "timezone": location.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.location_update(
                location=location, actor=console_actor(request), context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {location.name}." if changed else "Nothing to change.")
            return redirect("console_locations")
    return render_console(request, "location_form.html", {"form": form, "location": location}, tab="locations")


@capability_required("settings.manage")
@require_POST
def location_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    try:
        services.location_deactivate(location=location, actor=console_actor(request), context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{location.name} is deactivated. Its records are kept.")
    return redirect("console_locations")


@capability_required("settings.manage")
@require_POST
def location_reactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    services.location_reactivate(location=location, actor=console_actor(request), context=audit_context(request))
    messages.success(request, f"{location.name} is active again.")
    return redirect("console_locations")


# --- staff -------------------------------------------------------------------------------------


@capability_required("staff.manage")
def staff_list(request: HttpRequest) -> HttpResponse:
    form = StaffSearchForm(request.GET or None)
    query, status, role = "", "active", None
    if form.is_valid():
        query = form.cleaned_data["q"] or ""
        status = form.cleaned_data["status"] or "active"
        role = form.cleaned_data["role"]
    page = _page(request, selectors.staff_search(actor=console_actor(request), query=query, status=status, role=role))
    filtered = bool(query or role or status != "active")
    return render_console(request, "staff_list.html", {"form": form, "page": page, "filtered": filtered}, tab="staff")


@capability_required("staff.manage")
def staff_invite(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request)
    form = StaffInviteForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.staff_invite(
                clinic=_clinic(request),
                actor=actor,
                context=audit_context(request),
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                locations=form.chosen_locations(),
                phone=data["phone"],
                registration_number=data["registration_number"],
                qualifications=data["qualifications"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {user.email}. The link works once and expires in 3 days.")
            return redirect("console_staff_detail", pk=user.pk)
    return render_console(request, "staff_invite.html", {"form": form}, tab="staff")


@capability_required("staff.manage")
def staff_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = console_actor(request)
    member = get_object_or_404(selectors.staff_visible_to(actor).select_related("role"), pk=pk)
    manageable = services.can_manage(actor, member)
    if request.method == "POST":
        form = StaffEditForm(request.POST, actor=actor, member=member)
        if form.is_valid():
            data = form.cleaned_data
            try:
                changed = services.staff_update(
                    user=member,
                    actor=actor,
                    context=audit_context(request),
                    role=data["role"],
                    locations=form.chosen_locations(),
                    full_name=data["full_name"],
                    phone=data["phone"],
                    registration_number=data["registration_number"],
                    qualifications=data["qualifications"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved {member.full_name}." if changed else "Nothing to change.")
                return redirect("console_staff_detail", pk=member.pk)
    else:
        form = StaffEditForm(initial=staff_edit_initial(member), actor=actor, member=member)
    context = {
        "member": member,
        "form": form,
        "manageable": manageable,
        "is_self": member.pk == actor.pk,
        "pending": services.invitation_pending(member),
        "member_locations": list(member.locations.all()),
        "tokens": selectors.api_tokens_of(member)[:PAGE_SIZE],
    }
    return render_console(request, "staff_detail.html", context, tab="staff")


def _staff_action(request: HttpRequest, pk: UUID, action: Any, success: str) -> HttpResponse:
    member = get_object_or_404(selectors.staff_visible_to(console_actor(request)), pk=pk)
    try:
        action(member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success.format(name=member.full_name))
    return redirect("console_staff_detail", pk=member.pk)


@capability_required("staff.manage")
@require_POST
def staff_resend_invite(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor, clinic = console_actor(request), _clinic(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_resend_invite(
            clinic=clinic, user=member, actor=actor, context=audit_context(request)
        ),
        "A new invitation is on its way to {name}; the previous link no longer works.",
    )


@capability_required("staff.manage")
@require_POST
def staff_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = console_actor(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_deactivate(user=member, actor=actor, context=audit_context(request)),
        "{name} is deactivated and was signed out everywhere.",
    )


@capability_required("staff.manage")
@require_POST
def staff_reactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = console_actor(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_reactivate(user=member, actor=actor, context=audit_context(request)),
        "{name} can sign in again.",
    )


@capability_required("staff.manage")
@require_POST
def staff_token_revoke(request: HttpRequest, pk: UUID, token_pk: UUID) -> HttpResponse:
    actor = console_actor(request)
    member = get_object_or_404(selectors.staff_visible_to(actor), pk=pk)
    token = get_object_or_404(ApiToken, pk=token_pk, user=member)
    try:
        services.api_token_revoke(token=token, actor=actor, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Revoked the token {token.name}.")
    return redirect("console_staff_detail", pk=member.pk)


# --- roles -------------------------------------------------------------------------------------


@capability_required("staff.manage")
def role_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.role_list())
    return render_console(request, "roles.html", {"page": page}, tab="roles")


@capability_required("staff.manage")
def role_create(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request)
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(actor=actor, context=audit_context(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the {role.name} role. You can now give it to staff.")
            return redirect("console_roles")
    context = {"form": form, "role": None, "groups": form.capability_groups(actor), "editable": True}
    return render_console(request, "role_form.html", context, tab="roles")


@capability_required("staff.manage")
def role_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = console_actor(request)
    role = get_object_or_404(Role, pk=pk)
    editable = (
        not role.is_builtin
        and not services.missing_capabilities(actor, role.capabilities)
        and not services.role_holders_outside_reach(actor, role)
    )
    if request.method == "POST":
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                changed = services.role_update(
                    role=role, actor=actor, context=audit_context(request), **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved the {role.name} role." if changed else "Nothing to change.")
                return redirect("console_roles")
    else:
        form = RoleForm(
            initial={"name": role.name, "description": role.description, "capabilities": list(role.capabilities)}
        )
    context = {
        "form": form,
        "role": role,
        "groups": form.capability_groups(actor),
        "editable": editable,
        "staff_count": role.users.count(),
    }
    return render_console(request, "role_form.html", context, tab="roles")


@capability_required("staff.manage")
@require_POST
def role_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    try:
        services.role_delete(role=role, actor=console_actor(request), context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("console_role_detail", pk=role.pk)
    messages.success(request, f"Deleted the {role.name} role.")
    return redirect("console_roles")


# --- personal API tokens -----------------------------------------------------------------------


@login_only
def tokens(request: HttpRequest) -> HttpResponse:
    user = console_actor(request)
    clinic = _clinic(request)
    form = ApiTokenForm(request.POST or None, tz=clinic.timezone)
    secret: str | None = None
    created: ApiToken | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.api_token_create(
                user=user,
                actor=user,
                context=audit_context(request),
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = ApiTokenForm(tz=clinic.timezone)
    context = {
        "form": form,
        "secret": secret,
        "created": created,
        "page": _page(request, selectors.api_tokens_of(user)),
    }
    response = render_console(request, "tokens.html", context, tab="tokens")
    response["Cache-Control"] = "no-store"
    return response


@login_only
@require_POST
def token_revoke(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = console_actor(request)
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    services.api_token_revoke(token=token, actor=user, context=audit_context(request))
    messages.success(request, f"Revoked the token {token.name}. Programs using it can no longer sign in.")
    return redirect("console_tokens")
