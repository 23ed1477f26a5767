"""Forms of the appointment pages. They parse input; the services decide (and refuse with messages)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Location, User
from accounts.selectors import locations_for
from appointments.models import Appointment, AppointmentType, ReminderRule, Weekday
from appointments.schedule import local_datetime
from appointments.selectors import appointment_settings, appointment_types, clinic_tz, clinician_choices
from docos.widgets import DateInput, TimeInput

T = TypeVar("T")


class ClinicianField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name)


def apply_service_errors(exc: ValidationError, form: forms.Form) -> None:
    """Show a service's ValidationError on the form: field errors on their fields, others on top."""
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            field = name if name in form.fields else None
            for message in messages:
                form.add_error(field, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def submit(form: forms.Form, save: Callable[[], T]) -> T | None:
    """What `save` (one service call) returns for a bound, valid form. None when the form is unbound
    or invalid, or the service refused: its errors are then on the form."""
    if not form.is_valid():
        return None
    try:
        return save()
    except ValidationError as exc:
        apply_service_errors(exc, form)
        return None


class _LocationFormMixin:
    fields: dict[str, forms.Field]

    def _limit_locations(self, user: User, name: str = "location") -> None:
        field = self.fields[name]
        field.queryset = locations_for(user).order_by("name")  # type: ignore[attr-defined]


class BookingForm(_LocationFormMixin, forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    clinician = ClinicianField(queryset=User.objects.none(), label=_("Doctor"))
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.none(), label=_("Type"), empty_label=None
    )
    date = forms.DateField(widget=DateInput())
    time = forms.TimeField(widget=TimeInput(), help_text=_("Local time at the location."))
    notes = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason for the visit")
    )
    overbook = forms.BooleanField(
        required=False, label=_("Overbook: book even if the doctor is already booked at this time")
    )
    outside_hours = forms.BooleanField(required=False, label=_("Book outside the doctor's working hours"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_locations(user)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]
        self.fields["appointment_type"].queryset = appointment_types()  # type: ignore[attr-defined]
        if not appointment_settings().allow_overbooking:
            del self.fields["overbook"]

    def starts_at(self) -> dt.datetime:
        location: Location = self.cleaned_data["location"]
        return local_datetime(
            self.cleaned_data["date"], self.cleaned_data["time"], zoneinfo.ZoneInfo(location.timezone)
        )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "location": data["location"],
            "clinician": data["clinician"],
            "appointment_type": data["appointment_type"],
            "starts_at": self.starts_at(),
            "notes": data.get("notes", ""),
            "overbook": bool(data.get("overbook")),
            "outside_hours": bool(data.get("outside_hours")),
        }


class RescheduleForm(_LocationFormMixin, forms.Form):
    date = forms.DateField(widget=DateInput())
    time = forms.TimeField(widget=TimeInput(), help_text=_("Local time at the location."))
    clinician = ClinicianField(queryset=User.objects.none(), label=_("Doctor"), required=False)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    overbook = forms.BooleanField(required=False, label=_("Overbook if the doctor is already booked then"))
    outside_hours = forms.BooleanField(required=False, label=_("Outside the doctor's working hours"))

    def __init__(self, *args: Any, user: User, appointment: Appointment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        self._limit_locations(user)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]
        if not appointment_settings().allow_overbooking:
            del self.fields["overbook"]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        location = data.get("location") or self.appointment.location
        return {
            "starts_at": local_datetime(data["date"], data["time"], zoneinfo.ZoneInfo(location.timezone)),
            "clinician": data.get("clinician"),
            "location": data.get("location"),
            "overbook": bool(data.get("overbook")),
            "outside_hours": bool(data.get("outside_hours")),
        }


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[
            (value, label)
            for value, label in Appointment.CancelReason.choices
            if value != Appointment.CancelReason.PATIENT_WHATSAPP
        ]
    )
    note = forms.CharField(required=False, max_length=200, help_text=_("Required when the reason is Other."))


class CompleteForm(forms.Form):
    visit = forms.ChoiceField(
        required=False, widget=forms.RadioSelect, label=_("Visit"), help_text=_("Link a visit, or open a new draft.")
    )

    def __init__(self, *args: Any, visits: list[Any], opens_visit: bool = True, **kwargs: Any) -> None:
        """`opens_visit`: the user writes visits (clinical.edit); for anyone else, completing without
        choosing a visit links none (see appointments.services._link_visit)."""
        super().__init__(*args, **kwargs)
        self.visits = {str(v.pk): v for v in visits}
        if not opens_visit:
            self.fields[
                "visit"
            ].help_text = "Link one of the patient's visits, or complete without one (clinicians open visits)."
        choices = [("", "Open a new draft visit" if opens_visit else "No visit")] + [
            (str(v.pk), f"{v.visit_at.astimezone(clinic_tz()):%d %b %H:%M} · {v.clinician.full_name} · {v.status}")
            for v in visits
        ]
        self.fields["visit"].choices = choices  # type: ignore[attr-defined]

    def chosen_visit(self) -> Any:
        return self.visits.get(self.cleaned_data.get("visit") or "")


class WalkInForm(_LocationFormMixin, forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    clinician = ClinicianField(queryset=User.objects.none(), label=_("Doctor"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit_locations(user)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]


# --- schedules -------------------------------------------------------------------------------------


class WorkingHoursForm(forms.Form):
    clinician = ClinicianField(queryset=User.objects.none(), label=_("Doctor"))
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple, label=_("Days")
    )
    start_time = forms.TimeField(widget=TimeInput(), label=_("From"))
    end_time = forms.TimeField(widget=TimeInput(), label=_("To"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]
        self.fields["location"].queryset = Location.objects.filter(is_active=True)  # type: ignore[attr-defined]


class BreakForm(forms.Form):
    start_time = forms.TimeField(widget=TimeInput(), label=_("Break from"))
    end_time = forms.TimeField(widget=TimeInput(), label=_("to"))
    label = forms.CharField(required=False, max_length=60)


class LeaveForm(forms.Form):
    clinician = ClinicianField(queryset=User.objects.none(), label=_("Doctor"))
    start_date = forms.DateField(widget=DateInput(), label=_("From"))
    end_date = forms.DateField(widget=DateInput(), label=_("To (inclusive)"))
    start_time = forms.TimeField(
        widget=TimeInput(), required=False, label=_("From time"), help_text=_("Leave empty for whole days.")
    )
    end_time = forms.TimeField(widget=TimeInput(), required=False, label=_("To time"))
    reason = forms.CharField(required=False, max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", "The leave must end on or after its first day.")
        return data

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """The leave in the clinic's time zone: whole days unless times are given."""
        data = self.cleaned_data
        tz = clinic_tz()
        start = local_datetime(data["start_date"], data.get("start_time") or dt.time(0), tz)
        if data.get("end_time"):
            end = local_datetime(data["end_date"], data["end_time"], tz)
        else:
            end = local_datetime(data["end_date"] + dt.timedelta(days=1), dt.time(0), tz)
        return start, end


class HolidayForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    name = forms.CharField(max_length=80)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False, empty_label=_("All locations"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(is_active=True)  # type: ignore[attr-defined]


class ColourInput(forms.TextInput):
    input_type = "color"


class AppointmentTypeForm(forms.Form):
    name = forms.CharField(max_length=60)
    duration_minutes = forms.IntegerField(min_value=5, max_value=480, label=_("Length (minutes)"))
    colour = forms.RegexField(regex=r"^#[0-9a-fA-F]{6}$", widget=ColourInput(), initial="#0b6bcb")
    position = forms.IntegerField(min_value=0, max_value=999, initial=0, label=_("Order in lists"))
    is_active = forms.BooleanField(required=False, initial=True, label=_("Offered for booking"))


class ReminderRuleForm(forms.Form):
    """`whatsapp_template` is the rule's `template_name` (a Form already has a `template_name`)."""

    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=ReminderRule.Kind.choices, label=_("When"))
    offset_minutes = forms.IntegerField(
        min_value=5,
        max_value=60 * 24 * 14,
        initial=1440,
        label=_("Minutes before the appointment"),
        help_text=_("1440 = 24 hours, 120 = 2 hours. For appointment reminders."),
    )
    days_before = forms.IntegerField(
        min_value=0, max_value=30, initial=1, label=_("Days before the follow-up date"), help_text=_("For follow-ups.")
    )
    send_time = forms.TimeField(widget=TimeInput(), initial=dt.time(10, 0), label=_("At (follow-ups)"))
    whatsapp_template = forms.RegexField(
        regex=r"^[a-z0-9_]{1,512}$",
        label=_("WhatsApp template name"),
        error_messages={"invalid": "Use lowercase letters, digits and underscores, as in WhatsApp Manager."},
    )
    language = forms.RegexField(
        regex=r"^[a-z]{2,3}(?:_[A-Z]{2})?$",
        initial="en",
        error_messages={"invalid": "Use a WhatsApp language code such as en, hi or en_US."},
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))

    @staticmethod
    def initial_for(rule: ReminderRule) -> dict[str, Any]:
        fields = ("name", "kind", "offset_minutes", "days_before", "send_time", "language", "is_active")
        return {**{name: getattr(rule, name) for name in fields}, "whatsapp_template": rule.template_name}

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["template_name"] = data.pop("whatsapp_template")
        return data


class AppointmentSettingsForm(forms.Form):
    allow_overbooking = forms.BooleanField(
        required=False, label=_("Allow overbooking (each overbooking is still an explicit choice)")
    )
    quiet_hours_start = forms.TimeField(widget=TimeInput(), label=_("No reminders from"))
    quiet_hours_end = forms.TimeField(
        widget=TimeInput(),
        label=_("until"),
        help_text=_("Local time of each location. Equal times switch quiet hours off."),
    )
