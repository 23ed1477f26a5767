from __future__ import annotations

from django import forms


class WhatsAppSettingsForm(forms.Form):
    waba_id = forms.CharField(label="WhatsApp Business Account id", max_length=32, required=False)
    phone_number_id = forms.CharField(label="Phone number id", max_length=32, required=False)
    display_number = forms.CharField(label="Display number", max_length=20, required=False)
    access_token = forms.CharField(
        label="Access token",
        required=False,
        max_length=1024,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A system user's permanent token. Leave empty to keep the stored one.",
    )
    is_enabled = forms.BooleanField(label="Send WhatsApp messages", required=False)


class TestMessageForm(forms.Form):
    to_number = forms.CharField(label="Send a test message to", max_length=20, help_text="e.g. 98450 12345")
