"""Forms for visits, addenda and prescriptions. They parse and give per-field messages; the rules
live in clinical.services, whose errors `apply_service_errors` puts back on the right field/row."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.forms import BaseFormSet, formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.models import Location, User
from accounts.selectors import clinician_choices, locations_for
from clinical.models import PrescriptionItem, Visit
from clinical.services import NOTE_KEYS, normalize_frequency, normalize_icd10, visit_notes
from docos.widgets import DATETIME_LOCAL, DateInput, DateTimeLocalInput

NOTE_LABELS = {
    "history": "History",
    "examination": "Examination",
    "subjective": "Subjective (S)",
    "objective": "Objective (O)",
    "assessment": "Assessment (A)",
    "plan": "Plan (P)",
}
VITAL_FIELDS = ("bp_systolic", "bp_diastolic", "pulse", "temperature_c", "spo2", "weight_kg", "height_cm")
VITAL_HINTS = {
    "bp_systolic": ("BP systolic", "mmHg"),
    "bp_diastolic": ("BP diastolic", "mmHg"),
    "pulse": ("Pulse", "/min"),
    "temperature_c": ("Temperature", "°C"),
    "spo2": ("SpO2", "%"),
    "weight_kg": ("Weight", "kg"),
    "height_cm": ("Height", "cm"),
}


def _model_field(name: str, **overrides: Any) -> forms.Field:
    """The form field Django derives from Visit (so bounds and lengths match the model)."""
    model_field = Visit._meta.get_field(name)
    for validator in getattr(model_field, "validators", []):
        if isinstance(validator, MinValueValidator):
            overrides.setdefault("min_value", validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            overrides.setdefault("max_value", validator.limit_value)
    field = model_field.formfield(**overrides) if isinstance(model_field, models.Field) else None
    if field is None:
        raise LookupError(f"Visit.{name} has no form field")
    return field


class LocationChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class VisitForm(forms.Form):
    visit_at = forms.DateTimeField(
        label=_("Date and time"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=DateTimeLocalInput(),
    )
    location = LocationChoiceField(queryset=Location.objects.none(), empty_label=None)
    clinician: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label=_("Me")
    )
    chief_complaint = forms.CharField(max_length=300, required=False, label=_("Chief complaint"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations_for(user).order_by("name")  # type: ignore[attr-defined]
        self.fields["clinician"].queryset = clinician_choices()  # type: ignore[attr-defined]
        for name in VITAL_FIELDS:
            label, unit = VITAL_HINTS[name]
            field = _model_field(name, required=False, label=label)
            field.widget.attrs.update({"inputmode": "decimal", "data-unit": unit, "placeholder": unit})
            field.help_text = unit
            self.fields[name] = field
        for key in NOTE_KEYS:
            self.fields[key] = forms.CharField(
                label=NOTE_LABELS[key], required=False, widget=forms.Textarea(attrs={"rows": 3})
            )
        self.fields["procedures_performed"] = forms.CharField(
            label=_("Procedures performed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
        )
        self.fields["advice"] = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
        self.fields["follow_up_date"] = forms.DateField(label=_("Follow-up on"), required=False, widget=DateInput())
        self.fields["weight_kg"].widget.attrs["data-bmi-weight"] = ""
        self.fields["height_cm"].widget.attrs["data-bmi-height"] = ""

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {
            name: data.get(name)
            for name in (
                "visit_at",
                "clinician",
                "chief_complaint",
                *VITAL_FIELDS,
                "procedures_performed",
                "advice",
                "follow_up_date",
            )
        }
        return {"location": data["location"], "notes": {key: data.get(key, "") for key in NOTE_KEYS}, **fields}

    @staticmethod
    def initial_for(visit: Visit) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(visit, name)
            for name in (
                "visit_at",
                "location",
                "clinician",
                "chief_complaint",
                *VITAL_FIELDS,
                "procedures_performed",
                "advice",
                "follow_up_date",
            )
        }
        initial.update(visit_notes(visit))
        return initial


class DiagnosisForm(forms.Form):
    text = forms.CharField(
        max_length=200,
        required=False,
        label=_("Diagnosis"),
        widget=forms.TextInput(attrs={"data-icd10": "text", "autocomplete": "off"}),
    )
    icd10 = forms.CharField(
        max_length=12,
        required=False,
        label=_("ICD-10"),
        widget=forms.TextInput(
            attrs={
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "J06.9",
                "data-icd10": "code",
                "autocomplete": "off",
            }
        ),
    )

    def clean_icd10(self) -> str:
        return normalize_icd10(self.cleaned_data.get("icd10", ""))


DiagnosisFormSet = formset_factory(DiagnosisForm, extra=0, max_num=20, validate_max=True)


class AddendumForm(forms.Form):
    text = forms.CharField(label=_("Addendum"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}), strip=True)


class PrescriptionForm(forms.Form):
    location = LocationChoiceField(queryset=Location.objects.none(), empty_label=None)
    general_advice = forms.CharField(label=_("Advice"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    general_advice_hi = forms.CharField(
        label=_("Advice in Hindi"), required=False, widget=forms.Textarea(attrs={"rows": 2, "lang": "hi"})
    )
    follow_up_date = forms.DateField(label=_("Follow-up on"), required=False, widget=DateInput())
    # static/js/rx_hindi.js ticks it when Hindi text is typed, unless the prescriber set it themselves.
    print_hindi = forms.BooleanField(
        label=_("Print Hindi instructions too"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-hindi-default": ""}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations_for(user).order_by("name")  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields}


class PrescriptionItemForm(forms.Form):
    drug = forms.UUIDField(required=False, widget=forms.HiddenInput(attrs={"data-drug-id": ""}))
    drug_name = forms.CharField(
        label=_("Medicine"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"data-formulary": "", "autocomplete": "off", "placeholder": "Start typing…"}),
    )
    strength = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"placeholder": "500 mg"}))
    form = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"placeholder": "Tablet"}))
    dose = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"placeholder": "1 tab"}))
    free_text = forms.BooleanField(
        label=_("Not in the formulary: prescribe as written"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-free-text": ""}),
    )
    frequency = forms.CharField(
        max_length=20,
        required=False,
        # The list offers SOS and "As directed"; nothing is filled in for the prescriber.
        widget=forms.TextInput(
            attrs={"placeholder": "1-0-1", "spellcheck": "false", "inputmode": "text", "list": "rx-frequencies"}
        ),
    )
    route = forms.CharField(max_length=30, required=False, widget=forms.TextInput(attrs={"placeholder": "Oral"}))
    duration = forms.CharField(max_length=30, required=False, widget=forms.TextInput(attrs={"placeholder": "5 days"}))
    food_relation = forms.ChoiceField(label=_("Food"), choices=PrescriptionItem.FoodRelation.choices, required=False)
    instructions = forms.CharField(max_length=300, required=False)
    instructions_hi = forms.CharField(
        label=_("Instructions (Hindi)"), max_length=300, required=False, widget=forms.TextInput(attrs={"lang": "hi"})
    )

    def clean_frequency(self) -> str:
        return normalize_frequency(self.cleaned_data.get("frequency", ""))


class BasePrescriptionItemFormSet(BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        filled = [form for form in self.forms if (form.cleaned_data or {}).get("drug_name")]
        if not filled:
            raise ValidationError("Add at least one medicine.")


PrescriptionItemFormSet = formset_factory(
    PrescriptionItemForm, formset=BasePrescriptionItemFormSet, extra=0, max_num=30, validate_max=True
)


def rows_of(formset: BaseFormSet) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    """Cleaned rows in submitted order (blank rows included, so error indexes match rows)."""
    return [dict(form.cleaned_data or {}) for form in formset.forms]


def apply_service_errors(
    exc: ValidationError,
    form: forms.Form,
    formsets: dict[str, BaseFormSet] | None = None,  # type: ignore[type-arg]
) -> None:
    """Put a service's ValidationError on the form: `items.3.frequency` goes to row 3 of the
    "items" formset, known field names to their field, anything else to the top of the form."""
    formsets = formsets or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] in formsets and parts[1].isdigit():
            formset = formsets[parts[0]]
            index, field = int(parts[1]), parts[2]
            if index < len(formset.forms):
                row = formset.forms[index]
                row.add_error(field if field in row.fields else None, messages)
                continue
        if key in form.fields:
            form.add_error(key, messages)
        elif key == "__all__":
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{key.replace('_', ' ').capitalize()}: {m}" for m in messages])
