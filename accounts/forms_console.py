"""Forms of the clinic settings console. They parse and give quick feedback; the services decide."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Location, Role, User
from accounts.selectors import STAFF_STATUSES, locations_for, roles_grantable_by, user_location_ids
from docos.capabilities import CAPABILITIES, grouped
from docos.widgets import DateInput


@functools.cache
def _timezones() -> tuple[tuple[str, str], ...]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    zones.append("UTC")
    return tuple((z, z.replace("_", " ")) for z in zones)


def timezone_choices() -> list[tuple[str, str]]:
    return list(_timezones())


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: by field where the form has it, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class LocationForm(forms.Form):
    name = forms.CharField(max_length=120)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)
    phone = forms.CharField(required=False, max_length=20, help_text="e.g. +91 80 4123 4567")
    gstin = forms.CharField(
        label="GSTIN",
        required=False,
        max_length=15,
        help_text="Only if this branch has its own; else the clinic's prints.",
    )
    registration_number = forms.CharField(
        required=False,
        max_length=60,
        help_text="The branch's registration as a clinical establishment (e.g. KPME), printed on its documents.",
    )
    timezone = forms.ChoiceField(label="Time zone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field: Any = self.fields["timezone"]
        timezone_field.choices = timezone_choices()


class _StaffAccessMixin(forms.Form):
    """Role and locations, limited to what the acting staff manager may grant."""

    role = forms.ModelChoiceField(queryset=Role.objects.all(), empty_label="Choose a role")
    location_scope = forms.ChoiceField(
        label="Locations",
        choices=[("all", "All locations"), ("some", "Only the locations ticked below")],
        widget=forms.RadioSelect,
        initial="all",
    )
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Allowed locations"
    )

    def setup_access(self, actor: User, current_role: Role | None = None) -> None:
        roles = roles_grantable_by(actor)
        if current_role is not None and current_role not in roles:
            roles.insert(0, current_role)  # keeping a colleague's role is not granting it
        role_field: Any = self.fields["role"]
        # Validation still accepts every role, so the service can explain why a role cannot be given.
        role_field.choices = [("", "Choose a role")] + [(str(r.pk), r.name) for r in roles]
        locations_field: Any = self.fields["locations"]
        locations_field.queryset = locations_for(actor)
        if user_location_ids(actor) is not None:
            scope_field: Any = self.fields["location_scope"]
            scope_field.choices = [("some", "Only the locations ticked below")]
            self.fields["location_scope"].initial = "some"

    def chosen_locations(self) -> list[Location]:
        if self.cleaned_data.get("location_scope") == "all":
            return []
        return list(self.cleaned_data.get("locations") or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("location_scope") == "some" and not data.get("locations"):
            self.add_error("locations", "Tick at least one location, or choose All locations.")
        return data


class StaffInviteForm(_StaffAccessMixin):
    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(help_text="The invitation with a set-password link goes here.")
    phone = forms.CharField(required=False, max_length=20)
    registration_number = forms.CharField(
        label="Medical registration number",
        required=False,
        max_length=40,
        help_text="Doctors only, e.g. KMC-48213. Prints on prescriptions.",
    )
    qualifications = forms.CharField(
        required=False, max_length=200, help_text="Doctors and nurses, e.g. MBBS, MD (Paediatrics)."
    )

    field_order = [
        "full_name",
        "email",
        "role",
        "location_scope",
        "locations",
        "phone",
        "registration_number",
        "qualifications",
    ]

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_access(actor)


class StaffEditForm(_StaffAccessMixin):
    full_name = forms.CharField(label="Full name", max_length=150)
    phone = forms.CharField(required=False, max_length=20)
    registration_number = forms.CharField(label="Medical registration number", required=False, max_length=40)
    qualifications = forms.CharField(required=False, max_length=200)

    field_order = ["full_name", "role", "location_scope", "locations", "phone", "registration_number", "qualifications"]

    def __init__(self, *args: Any, actor: User, member: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_access(actor, current_role=member.role)


def staff_edit_initial(user: User) -> dict[str, Any]:
    location_ids = [loc.pk for loc in user.locations.all() if loc.is_active]
    has_restriction = user.locations.exists()
    return {
        "full_name": user.full_name,
        "phone": user.phone,
        "registration_number": user.registration_number,
        "qualifications": user.qualifications,
        "role": user.role_id,
        "location_scope": "some" if has_restriction else "all",
        "locations": location_ids,
    }


class StaffSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    status = forms.ChoiceField(required=False, choices=list(STAFF_STATUSES.items()), initial="active")
    role = forms.ModelChoiceField(queryset=Role.objects.all(), required=False, empty_label="Any role")


class RoleForm(forms.Form):
    name = forms.CharField(max_length=80, help_text='e.g. "Accounts" or "Lab technician".')
    description = forms.CharField(required=False, max_length=200)
    capabilities = forms.MultipleChoiceField(
        choices=[(c.code, c.label) for c in CAPABILITIES.values()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one capability."},
    )

    def capability_groups(self, actor: User) -> list[dict[str, Any]]:
        """Checkbox data grouped as in the registry, marking what the actor may grant."""
        if self.is_bound:
            selected = set(self.data.getlist("capabilities")) if hasattr(self.data, "getlist") else set()
        else:
            selected = set(self.initial.get("capabilities") or [])
        held = actor.capabilities
        return [
            {
                "name": group,
                "items": [
                    {
                        "code": cap.code,
                        "label": cap.label,
                        "checked": cap.code in selected,
                        "allowed": cap.code in held,
                        "id": f"cap-{cap.code.replace('.', '-')}",
                    }
                    for cap in caps
                ],
            }
            for group, caps in grouped().items()
        ]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text='What it is for, e.g. "Lab results import".')
    expires_on = forms.DateField(
        required=False,
        label="Expires on (optional)",
        widget=DateInput(),
        help_text="Leave empty for a token that works until you revoke it.",
    )

    def __init__(self, *args: Any, tz: str = "Asia/Kolkata", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tz = zoneinfo.ZoneInfo(tz)

    def clean_expires_on(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("expires_on")
        if day is not None and day <= dt.datetime.now(self.tz).date():
            raise ValidationError("Choose a date after today.")
        return day

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=self.tz)
