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
    ClinicProfileForm,
    LocationForm,
    RoleForm,
    SecurityForm,
    StaffEditForm,
    StaffInviteForm,
    StaffSearchForm,
    add_service_errors,
    staff_edit_initial,
)
from accounts.models import ApiToken, Location, Role, User
from accounts.permissions import capability_required, login_only
from clinics.logo import CONTENT_TYPES, LOGO_MAX_BYTES, sniff_image_type
from clinics.models import Clinic
from clinics.services import clinic_profile_update, clinic_security_update

PAGE_SIZE = 50
CONSOLE_CAPS = ("settings.manage", "staff.manage", "audit.view")


def _clinic(request: HttpRequest) -> Clinic:
    tenant = getattr(request, "tenant", None)
    if not isinstance(tenant, Clinic):
        raise Http404
    return tenant


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> Page[Any]:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, tab: str, status: int = 200
) -> HttpResponse:
    return render(request, f"accounts/console/{template}", {"tab": tab, **context}, status=status)


# --- overview ----------------------------------------------------------------------------------


@login_only
def overview(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    if not any(user.has_capability(code) for code in CONSOLE_CAPS):
        raise PermissionDenied("settings")
    clinic = _clinic(request)
    context: dict[str, Any] = {}
    if user.has_capability("settings.manage"):
        context["location_count"] = Location.objects.filter(is_active=True).count()
    if user.has_capability("staff.manage"):
        counts = selectors.staff_counts(actor=user)
        context["staff_count"], context["pending_count"] = counts["active"], counts["pending"]
        context["custom_role_count"] = Role.objects.filter(is_builtin=False).count()
    context["clinic"] = clinic
    return _render(request, "overview.html", context, tab="overview")


# --- clinic profile, logo and security ---------------------------------------------------------


@capability_required("settings.manage")
def profile(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    if request.method == "POST":
        form = ClinicProfileForm(request.POST, request.FILES, current_state=clinic.billing_state)
        if form.is_valid():
            data = form.cleaned_data
            logo: dict[str, Any] = {}
            if data.get("logo"):
                logo["logo"] = data["logo"]
            elif data.get("remove_logo"):
                logo["logo"] = None
            try:
                changed = clinic_profile_update(
                    clinic=clinic,
                    actor=_actor(request),
                    request=request,
                    name=data["name"],
                    contact_email=data["contact_email"],
                    billing_address=data["billing_address"],
                    billing_state=data["billing_state"],
                    gstin=data["gstin"],
                    timezone=data["timezone"],
                    **logo,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Clinic profile saved." if changed else "Nothing to change.")
                return redirect("console_profile")
    else:
        form = ClinicProfileForm(
            initial={
                "name": clinic.name,
                "contact_email": clinic.contact_email,
                "billing_address": clinic.billing_address,
                "billing_state": clinic.billing_state,
                "gstin": clinic.gstin,
                "timezone": clinic.timezone,
            },
            current_state=clinic.billing_state,
        )
    return _render(request, "profile.html", {"form": form, "has_logo": bool(clinic.logo)}, tab="profile")


@login_only
def logo(request: HttpRequest) -> HttpResponse:
    """The clinic's logo, for staff pages. Its type is sniffed again from the stored bytes."""
    clinic = _clinic(request)
    if not clinic.logo:
        raise Http404
    try:
        with clinic.logo.open("rb") as handle:
            content = handle.read(LOGO_MAX_BYTES + 1)
    except FileNotFoundError:
        raise Http404 from None
    ext = sniff_image_type(content[:16])
    if ext is None or len(content) > LOGO_MAX_BYTES:
        raise Http404
    response = HttpResponse(content, content_type=CONTENT_TYPES[ext])
    response["Cache-Control"] = "private, max-age=300"
    return response


@capability_required("settings.manage")
def security(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    if request.method == "POST":
        form = SecurityForm(request.POST)
        if form.is_valid():
            try:
                changed = clinic_security_update(
                    clinic=clinic, actor=_actor(request), request=request, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Security settings saved." if changed else "Nothing to change.")
                return redirect("console_security")
    else:
        form = SecurityForm(
            initial={
                "idle_timeout_minutes": clinic.idle_timeout_minutes,
                "require_2fa_for_admins": clinic.require_2fa_for_admins,
            }
        )
    return _render(request, "security.html", {"form": form}, tab="security")


# --- locations ---------------------------------------------------------------------------------


@capability_required("settings.manage")
def location_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.location_list())
    return _render(request, "locations.html", {"page": page}, tab="locations")


@capability_required("settings.manage")
def location_create(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request)
    form = LocationForm(request.POST or None, initial={"timezone": clinic.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(actor=_actor(request), request=request, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added {location.name}.")
            return redirect("console_locations")
    return _render(request, "location_form.html", {"form": form, "location": None}, tab="locations")


@capability_required("settings.manage")
def location_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    initial = {"name": location.name, "address": location.address, "phone": location.phone}
    form = LocationForm(request.POST or None, initial={**initial, "timezone": location.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.location_update(
                location=location, actor=_actor(request), request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {location.name}." if changed else "Nothing to change.")
            return redirect("console_locations")
    return _render(request, "location_form.html", {"form": form, "location": location}, tab="locations")


@capability_required("settings.manage")
@require_POST
def location_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    try:
        services.location_deactivate(location=location, actor=_actor(request), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{location.name} is deactivated. Its records are kept.")
    return redirect("console_locations")


@capability_required("settings.manage")
@require_POST
def location_reactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(Location, pk=pk)
    services.location_reactivate(location=location, actor=_actor(request), request=request)
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
    page = _page(request, selectors.staff_search(actor=_actor(request), query=query, status=status, role=role))
    filtered = bool(query or role or status != "active")
    return _render(request, "staff_list.html", {"form": form, "page": page, "filtered": filtered}, tab="staff")


@capability_required("staff.manage")
def staff_invite(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = StaffInviteForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.staff_invite(
                clinic=_clinic(request),
                actor=actor,
                request=request,
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
    return _render(request, "staff_invite.html", {"form": form}, tab="staff")


@capability_required("staff.manage")
def staff_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = _actor(request)
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
                    request=request,
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
    return _render(request, "staff_detail.html", context, tab="staff")


def _staff_action(request: HttpRequest, pk: UUID, action: Any, success: str) -> HttpResponse:
    member = get_object_or_404(selectors.staff_visible_to(_actor(request)), pk=pk)
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
    actor, clinic = _actor(request), _clinic(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_resend_invite(clinic=clinic, user=member, actor=actor, request=request),
        "A new invitation is on its way to {name}; the previous link no longer works.",
    )


@capability_required("staff.manage")
@require_POST
def staff_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = _actor(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_deactivate(user=member, actor=actor, request=request),
        "{name} is deactivated and was signed out everywhere.",
    )


@capability_required("staff.manage")
@require_POST
def staff_reactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = _actor(request)
    return _staff_action(
        request,
        pk,
        lambda member: services.staff_reactivate(user=member, actor=actor, request=request),
        "{name} can sign in again.",
    )


@capability_required("staff.manage")
@require_POST
def staff_token_revoke(request: HttpRequest, pk: UUID, token_pk: UUID) -> HttpResponse:
    actor = _actor(request)
    member = get_object_or_404(selectors.staff_visible_to(actor), pk=pk)
    token = get_object_or_404(ApiToken, pk=token_pk, user=member)
    try:
        services.api_token_revoke(token=token, actor=actor, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Revoked the token {token.name}.")
    return redirect("console_staff_detail", pk=member.pk)


# --- roles -------------------------------------------------------------------------------------


@capability_required("staff.manage")
def role_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.role_list())
    return _render(request, "roles.html", {"page": page}, tab="roles")


@capability_required("staff.manage")
def role_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(actor=actor, request=request, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the {role.name} role. You can now give it to staff.")
            return redirect("console_roles")
    context = {"form": form, "role": None, "groups": form.capability_groups(actor), "editable": True}
    return _render(request, "role_form.html", context, tab="roles")


@capability_required("staff.manage")
def role_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    actor = _actor(request)
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
                changed = services.role_update(role=role, actor=actor, request=request, **form.cleaned_data)
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
    return _render(request, "role_form.html", context, tab="roles")


@capability_required("staff.manage")
@require_POST
def role_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk)
    try:
        services.role_delete(role=role, actor=_actor(request), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("console_role_detail", pk=role.pk)
    messages.success(request, f"Deleted the {role.name} role.")
    return redirect("console_roles")


# --- personal API tokens -----------------------------------------------------------------------


@login_only
def tokens(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    clinic = _clinic(request)
    form = ApiTokenForm(request.POST or None, tz=clinic.timezone)
    secret: str | None = None
    created: ApiToken | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.api_token_create(
                user=user,
                actor=user,
                request=request,
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
    response = _render(request, "tokens.html", context, tab="tokens")
    response["Cache-Control"] = "no-store"
    return response


@login_only
@require_POST
def token_revoke(request: HttpRequest, pk: UUID) -> HttpResponse:
    user = _actor(request)
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    services.api_token_revoke(token=token, actor=user, request=request)
    messages.success(request, f"Revoked the token {token.name}. Programs using it can no longer sign in.")
    return redirect("console_tokens")
