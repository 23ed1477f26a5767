"""HTML forms for the registry. They collect input; the services normalise and validate it (the
view copies service errors back onto the fields), so the API and imports follow the same rules."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Location
from docos.widgets import DateInput
from patients.consents import NOTE_MAX, RECORDABLE_CHANNELS, given_by_default
from patients.models import BloodGroup, ConsentAction, ConsentChannel, ConsentGivenBy, ConsentPurpose, Patient, Sex
from patients.services import (
    CONSENT_SOURCES,
    FORM_FIELDS,
    GUARDIAN_RELATIONS,
    INDIAN_STATES,
    clean_patient_fields,
    estimated_dob,
    notice_version,
)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the matching fields (or at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            target = name if name in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class PatientForm(forms.Form):
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(
        label=_("Family name"), max_length=100, required=False, help_text=_("Leave empty if the patient uses one name.")
    )
    sex = forms.ChoiceField(choices=Sex.choices, initial=Sex.UNKNOWN)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    age_years = forms.IntegerField(
        label=_("Or age in years"),
        required=False,
        min_value=0,
        max_value=125,
        help_text=_("If the date of birth is not known; it is then estimated."),
    )
    phone = forms.CharField(
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
        help_text=_("Any format: 98450 12345, +91-98450-12345."),
    )
    whatsapp_number = forms.CharField(
        label=_("WhatsApp number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
        help_text=_("Leave empty if it is the same as the phone number."),
    )
    email = forms.EmailField(required=False)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    city = forms.CharField(max_length=80, required=False)
    state = forms.ChoiceField(choices=[("", "—"), *[(s, s) for s in INDIAN_STATES]], required=False)
    pin_code = forms.CharField(
        label=_("PIN code"), max_length=7, required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    blood_group = forms.ChoiceField(choices=BloodGroup.choices, required=False)
    allergies = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=_("One per line, e.g. Penicillin — rash.")
    )
    chronic_conditions = forms.CharField(
        label=_("Chronic conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    emergency_contact_name = forms.CharField(label=_("Emergency contact"), max_length=120, required=False)
    emergency_contact_phone = forms.CharField(
        label=_("Emergency contact phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    registered_location = forms.ModelChoiceField(
        label=_("Registered at"), queryset=Location.objects.none(), empty_label=None
    )
    tags = forms.CharField(max_length=400, required=False, help_text=_("Comma-separated, e.g. diabetic, senior."))
    abha_number = forms.CharField(
        label=_("ABHA number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "12-3456-7890-1234"}),
    )
    aadhaar_last4 = forms.CharField(
        label=_("Aadhaar (last 4 digits only)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "1234"}),
        help_text=_("Never the full Aadhaar number."),
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=120, required=False)
    guardian_relation = forms.ChoiceField(
        label=_("Relation"), choices=[("", "—"), *[(r, r) for r in GUARDIAN_RELATIONS]], required=False
    )
    guardian_phone = forms.CharField(
        label=_("Guardian's phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )

    SERVICE_FIELDS = FORM_FIELDS

    def __init__(
        self, *args: Any, locations: Any, patient: Patient | None = None, actor: Any = None, **kwargs: Any
    ) -> None:
        self.patient = patient
        self.actor = actor
        if patient is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(patient)
        super().__init__(*args, **kwargs)
        field = self.fields["registered_location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = locations
        if patient is not None and not locations.filter(pk=patient.registered_location_id).exists():
            # Kept as it is: a colleague at another branch registered this patient.
            field.queryset = Location.objects.filter(pk=patient.registered_location_id) | locations
        if patient is not None and patient.state and patient.state not in INDIAN_STATES:
            state = self.fields["state"]
            assert isinstance(state, forms.ChoiceField)
            state.choices = [*cast(Any, state.choices), (patient.state, patient.state)]

    @staticmethod
    def initial_for(patient: Patient) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(patient, name) for name in PatientForm.SERVICE_FIELDS}
        data["registered_location"] = patient.registered_location_id
        data["tags"] = ", ".join(patient.tags)
        if patient.dob_is_estimated:
            data["age_years"] = patient.age_years()
            data["date_of_birth"] = None
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        dob = cleaned.get("date_of_birth")
        age = cleaned.get("age_years")
        if dob is None and age is None and "date_of_birth" not in self.errors and "age_years" not in self.errors:
            self.add_error(None, "Enter the date of birth, or the age if the date is not known.")
        # The services' rules (phones, Aadhaar, PIN, guardians of minors...) for the fields that passed,
        # so every problem shows at once rather than one round trip at a time.
        valid = {k: v for k, v in self.service_fields(partial=True).items() if k not in self.errors}
        try:
            clean_patient_fields(valid, actor=self.actor, existing=self.patient, partial=True)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if name in self.fields and name not in self.errors:
                    for message in messages:
                        self.add_error(name, message)
        return cleaned

    def service_fields(self, *, partial: bool = False) -> dict[str, Any]:
        """The cleaned values in the shape the services take (only the valid ones if `partial`)."""
        names = [n for n in self.SERVICE_FIELDS if n in self.cleaned_data] if partial else self.SERVICE_FIELDS
        data = {name: self.cleaned_data.get(name) for name in names}
        for name in ("given_name", "family_name", "email", "address", "city", "state", "pin_code"):
            if name in data:
                data[name] = data[name] or ""
        dob = self.cleaned_data.get("date_of_birth")
        age = self.cleaned_data.get("age_years")
        if dob is None and age is not None:
            keep = (
                self.patient is not None
                and self.patient.dob_is_estimated
                and self.patient.age_years() == age
                and self.patient.date_of_birth is not None
            )
            data["date_of_birth"] = self.patient.date_of_birth if keep and self.patient else estimated_dob(age)
            data["dob_is_estimated"] = True
        else:
            data["dob_is_estimated"] = False
        if "tags" in data:
            data["tags"] = self.cleaned_data.get("tags") or ""
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)


class PatientRegisterForm(PatientForm):
    whatsapp_consent = forms.BooleanField(
        label=_("The patient (or guardian) agrees to receive appointment reminders and reports on WhatsApp"),
        required=False,
        initial=False,  # the patient's decision, asked after the notice is explained: never pre-ticked
    )
    confirm_new_patient = forms.BooleanField(
        label=_("I checked the possible duplicates: this is a different person. Register anyway."),
        required=False,
        widget=forms.CheckboxInput(),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["whatsapp_consent"].help_text = (
            f"Explain the clinic's privacy notice (version {notice_version()}) first; tick only if the patient "
            "(or, for a minor, the guardian) then agrees. Your name is recorded as the person who took the consent."
        )


class ConsentForm(forms.Form):
    decision = forms.ChoiceField(choices=[("consent", "Agrees to WhatsApp messages"), ("opt_out", "Opts out")])
    source = forms.ChoiceField(label=_("How"), choices=[(k, v) for k, v in CONSENT_SOURCES.items() if k != "api"])


class ConsentLogForm(forms.Form):
    """A decision for the consent log (patients.consents): one purpose, granted or withdrawn."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    action = forms.ChoiceField(label=_("Decision"), choices=ConsentAction.choices, initial=ConsentAction.GRANTED)
    given_by = forms.ChoiceField(
        label=_("Given by"),
        choices=ConsentGivenBy.choices,
        help_text=_("For a minor, WhatsApp reminders and marketing need the guardian's consent."),
    )
    guardian_name = forms.CharField(
        label=_("Guardian's name"),
        max_length=120,
        required=False,
        help_text=_("When the guardian decides; empty takes the guardian on the patient's record."),
    )
    guardian_relation = forms.ChoiceField(
        label=_("Relation to the patient"),
        choices=[("", "—"), *((r, r) for r in GUARDIAN_RELATIONS)],
        required=False,
    )
    channel = forms.ChoiceField(
        label=_("How the decision was given"),
        choices=[(c.value, c.label) for c in RECORDABLE_CHANNELS if c != ConsentChannel.API],
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional, e.g. the number of the signed form."),
    )

    def __init__(self, *args: Any, patient: Patient | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if patient is not None and not self.is_bound:
            self.fields["given_by"].initial = given_by_default(patient)


class MergeForm(forms.Form):
    other = forms.CharField(
        label=_("MRN or id of the duplicate record"),
        max_length=64,
        help_text=_("The record that will be merged into this one."),
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("An Excel workbook (.xlsx) or a spreadsheet saved as CSV, with a header row."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    location = forms.ModelChoiceField(
        label=_("Register patients at"), queryset=Location.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = locations


class ImportMappingForm(forms.Form):
    """One select per CSV column: which patient field it holds (or ignore)."""

    def __init__(self, *args: Any, headers: list[str], choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or f"Column {index + 1}", choices=choices, required=False
            )

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{index}") or ""
            for index, header in enumerate(self.headers)
            if self.cleaned_data.get(f"col_{index}")
        }


class OpenAtBranchForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need this record?"),
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "For example: walk-in for follow-up of treatment started at the other branch. "
            "Your name, the time and this reason are recorded."
        ),
    )
