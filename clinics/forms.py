"""Forms of the clinic's own settings (profile, logo, security) in the settings console."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.forms_console import timezone_choices
from clinics.logo import validate_logo
from docos.gstin import validate_gstin
from docos.i18n import language_choices

# Indian states and union territories with their GST state codes (the GSTIN's first two digits).
GST_STATES: dict[str, tuple[str, ...]] = {
    "Andaman and Nicobar Islands": ("35",),
    "Andhra Pradesh": ("37", "28"),
    "Arunachal Pradesh": ("12",),
    "Assam": ("18",),
    "Bihar": ("10",),
    "Chandigarh": ("04",),
    "Chhattisgarh": ("22",),
    "Dadra and Nagar Haveli and Daman and Diu": ("26", "25"),
    "Delhi": ("07",),
    "Goa": ("30",),
    "Gujarat": ("24",),
    "Haryana": ("06",),
    "Himachal Pradesh": ("02",),
    "Jammu and Kashmir": ("01",),
    "Jharkhand": ("20",),
    "Karnataka": ("29",),
    "Kerala": ("32",),
    "Ladakh": ("38",),
    "Lakshadweep": ("31",),
    "Madhya Pradesh": ("23",),
    "Maharashtra": ("27",),
    "Manipur": ("14",),
    "Meghalaya": ("17",),
    "Mizoram": ("15",),
    "Nagaland": ("13",),
    "Odisha": ("21",),
    "Puducherry": ("34",),
    "Punjab": ("03",),
    "Rajasthan": ("08",),
    "Sikkim": ("11",),
    "Tamil Nadu": ("33",),
    "Telangana": ("36",),
    "Tripura": ("16",),
    "Uttar Pradesh": ("09",),
    "Uttarakhand": ("05",),
    "West Bengal": ("19",),
}
_STATE_BY_CODE = {code: state for state, codes in GST_STATES.items() for code in codes}


class ClinicProfileForm(forms.Form):
    name = forms.CharField(label="Clinic name", max_length=200)
    logo = forms.FileField(
        required=False,
        help_text="PNG or JPEG, up to 1 MB. It prints on prescriptions, invoices and certificates.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the current logo")
    contact_email = forms.EmailField(label="Contact email", help_text="Where DocOS sends billing and account notices.")
    billing_address = forms.CharField(
        label="Billing address", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )
    billing_state = forms.ChoiceField(label="State", required=False)
    gstin = forms.CharField(
        label="GSTIN",
        required=False,
        max_length=15,
        help_text="15 characters, e.g. 29ABCDE1234F1Z5. Leave empty if the clinic is not registered for GST.",
    )
    timezone = forms.ChoiceField(label="Time zone")
    default_language = forms.ChoiceField(
        label=_("Language"),
        choices=language_choices,
        required=False,  # not sent: unchanged
        help_text=_("For staff who have not chosen their own language on their account page, and the sign-in screens."),
    )

    def __init__(self, *args: Any, current_state: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        states = [("", "Choose a state")] + [(s, s) for s in GST_STATES]
        if current_state and current_state not in GST_STATES:
            states.append((current_state, current_state))
        state_field: Any = self.fields["billing_state"]
        state_field.choices = states
        timezone_field: Any = self.fields["timezone"]
        timezone_field.choices = timezone_choices()

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo:
            try:
                validate_logo(logo)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict.get("logo", exc.messages)) from None
        return logo

    def clean_gstin(self) -> str:
        gstin = (self.cleaned_data.get("gstin") or "").strip().upper()
        if gstin:
            validate_gstin(gstin)
        return gstin

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        gstin, state = data.get("gstin") or "", data.get("billing_state") or ""
        if gstin and "gstin" not in self.errors:
            gst_state = _STATE_BY_CODE.get(gstin[:2])
            if not state and gst_state:
                data["billing_state"] = gst_state
            elif state in GST_STATES and gstin[:2] not in GST_STATES[state]:
                self.add_error(
                    "gstin",
                    f"This GSTIN is registered in {gst_state or 'another state'} (code {gstin[:2]}), "
                    f"but the billing state is {state}.",
                )
        if data.get("logo") and data.get("remove_logo"):
            self.add_error("remove_logo", "Either upload a new logo or remove the current one, not both.")
        return data


class SecurityForm(forms.Form):
    idle_timeout_minutes = forms.IntegerField(
        label="Sign out after inactivity (minutes)",
        min_value=5,
        max_value=60,
        help_text="Between 5 and 60 minutes. Staff see a warning two minutes before.",
    )
    require_2fa_for_admins = forms.BooleanField(
        label="Require two-factor sign-in for staff with administrative access", required=False
    )


class SubscribeForm(forms.Form):
    plan: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label="Plan", empty_label=None)
    seats = forms.IntegerField(label="Seats", min_value=1, max_value=1000, initial=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from clinics.models import Plan

        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(is_active=True)  # type: ignore[attr-defined]


class SeatsForm(forms.Form):
    seats = forms.IntegerField(label="Seats", min_value=1, max_value=1000)


class SubscriptionCancelForm(forms.Form):
    when = forms.ChoiceField(
        label="Cancel",
        choices=[("cycle_end", "At the end of the paid period"), ("now", "Now")],
        initial="cycle_end",
    )
    confirm = forms.BooleanField(label="I understand DocOS becomes read-only once the subscription ends.")


class PlatformLoginForm(forms.Form):
    """The platform console's sign-in (public domain): email and password, then the TOTP code."""

    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class PlatformSearchForm(forms.Form):
    q = forms.CharField(label=_("Clinic name or address"), max_length=100, required=False)
    days = forms.IntegerField(label=_("Last N days"), min_value=1, max_value=366, required=False)


class ReauthForm(forms.Form):
    """Re-authentication before closing the clinic (accounts.reauth)."""

    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, needs_code: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_code:
            self.fields["code"].required = True
        else:
            del self.fields["code"]


class CloseClinicForm(forms.Form):
    confirm_address = forms.CharField(
        label="Type the clinic's address to confirm", max_length=40, help_text="The part before the first dot."
    )
