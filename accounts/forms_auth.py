"""Small forms for sign-in, passwords and two-factor setup. Validation of substance is in accounts.login."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from docos.i18n import language_choices

CODE_WIDGET_ATTRS = {
    "inputmode": "numeric",
    "autocomplete": "one-time-code",
    "pattern": "[0-9 ]{6,7}",
    "maxlength": "7",
    "autofocus": True,
}


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Work email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
        widget=forms.TextInput(attrs=CODE_WIDGET_ATTRS),
    )


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        help_text=_("At least 12 characters; not a common password or one like your name or email."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two passwords are not the same."))
        return data


class ChangePasswordForm(NewPasswordForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ("current_password", "new_password", "new_password_again")


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(
        label=_("Theme"), choices=[("auto", _("Auto")), ("light", _("Light")), ("dark", _("Dark"))]
    )


def _language_options() -> list[tuple[str, str]]:
    return [("", gettext("The clinic's default")), *language_choices()]


class LanguageForm(forms.Form):
    # Choices are read per form (a callable), so a new catalogue in locale/ shows up without code.
    language = forms.ChoiceField(label=_("Language"), choices=_language_options, required=False)
