"""HTML forms of the privacy workbench. They collect input; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from accounts.models import ApiToken, Location, User
from accounts.selectors import locations_for
from docos.widgets import DateInput, DateTimeLocalInput
from patients.services import CORRECTABLE_FIELDS
from privacy.models import BreachIncident, PrivacySettings, RightsRequest


class RequestForm(forms.Form):
    kind = forms.ChoiceField(choices=RightsRequest.Kind.choices, label="The patient asks for")
    patient_mrn = forms.CharField(
        max_length=24, required=False, label="Patient's MRN", help_text="Required except for a general grievance."
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Received at")
    requester_name = forms.CharField(max_length=120, label="Who is asking")
    requester_relation = forms.ChoiceField(choices=RightsRequest.Relation.choices, label="They are")
    requester_contact = forms.CharField(max_length=120, required=False, label="Phone or email to answer on")
    verification = forms.ChoiceField(choices=RightsRequest.Verification.choices, label="Identity checked by")
    received_on = forms.DateField(
        required=False, widget=DateInput(), label="Received on", help_text="Leave empty for today."
    )
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label="What they asked, in their words"
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locations = locations_for(user)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = locations
        if locations.count() == 1:
            field.initial = locations.first()


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[c for c in RightsRequest.Outcome.choices if c[0] and c[0] not in ("erased", "restricted")],
        label="Outcome",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="What the patient was told")


class CorrectionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason for the correction")

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from patients.models import Patient

        for name in CORRECTABLE_FIELDS:
            model_field = Patient._meta.get_field(name)
            assert isinstance(model_field, models.Field)
            form_field = model_field.formfield(required=False)
            if form_field is None:
                continue
            if name == "date_of_birth":
                form_field.widget = DateInput()
            form_field.initial = getattr(patient, name)
            self.fields[name] = form_field
        self.order_fields([*CORRECTABLE_FIELDS, "reason"])

    def changes(self, patient: Any) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in CORRECTABLE_FIELDS
            if name in data
            and (data[name] if data[name] is not None else "") != (getattr(patient, name) or "")
            and not (data[name] in (None, "") and getattr(patient, name) in (None, ""))
        }


class LegalHoldForm(forms.Form):
    hold = forms.BooleanField(required=False)
    reason = forms.CharField(max_length=300, required=False, label="Reason (case, notice or order)")


class SettingsForm(forms.ModelForm):
    class Meta:
        model = PrivacySettings
        fields = [
            "acknowledge_days", "answer_days", "privacy_contact", "clinical_retention_years", "billing_retention_years",
        ]  # fmt: skip
        labels = {
            "privacy_contact": "Privacy contact for patients (name, phone, email)",
            "acknowledge_days": "Acknowledge requests within (days)",
            "answer_days": "Answer requests and grievances within (days, at most 90)",
            "clinical_retention_years": "Keep clinical records (years after the last visit; at least 10)",
            "billing_retention_years": "Keep billing records (years after the financial year; at least 8)",
        }


# --- the breach register ----------------------------------------------------------------------------


def _when(label: str, *, required: bool = False, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(required=required, widget=DateTimeLocalInput(), label=label, help_text=help_text)


class BreachForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title", help_text="Short, and no patient names.")
    kind = forms.ChoiceField(choices=BreachIncident.Kind.choices, label="What happened")
    discovered_at = _when("Discovered at", required=True, help_text="The 6- and 72-hour timers run from here.")
    occurred_from = _when("Began at (if known)")
    occurred_to = _when("Ended at (if known)", help_text="Leave empty while it may still be going on.")
    account = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Staff account used (for a compromised account)"
    )
    token = forms.ModelChoiceField(
        queryset=ApiToken.objects.none(), required=False, label="API token (for a leaked token)"
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, label="What is known (kept encrypted)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.fields["account"]
        token = self.fields["token"]
        assert isinstance(account, forms.ModelChoiceField) and isinstance(token, forms.ModelChoiceField)
        account.queryset = User.objects.order_by("full_name", "email")
        token.queryset = ApiToken.objects.select_related("user").order_by("-created_at")


class BreachEditForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title", help_text="Short, and no patient names.")
    occurred_from = _when("Began at (if known)")
    occurred_to = _when("Ended at (if known)")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, label="What is known (kept encrypted)"
    )


class ReportForm(forms.Form):
    target = forms.ChoiceField(choices=[("cert_in", "CERT-In"), ("board", "Data Protection Board")])
    reported_at = _when("Reported at", help_text="Leave empty for now.")
    reference = forms.CharField(max_length=100, required=False, label="Their acknowledgement number")


class BreachStatusForm(forms.Form):
    status = forms.ChoiceField(choices=BreachIncident.Status.choices)


class AffectedAddForm(forms.Form):
    mrn = forms.CharField(max_length=24, label="Patient's MRN")


class NoticeForm(forms.Form):
    notice_happened = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What happened")
    notice_data = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="What data, and what it may mean for the patient"
    )
    notice_actions = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What we have done")
    notice_steps = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What the patient can do")
    notice_contact = forms.CharField(widget=forms.Textarea(attrs={"rows": 1}), label="Whom to contact")
