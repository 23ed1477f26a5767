from __future__ import annotations

from typing import Any

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


class ReplyForm(forms.Form):
    """A staff reply in the inbox. `key` is minted when the page is drawn, so a double submit (or a
    reload that re-posts) sends one message."""

    body = forms.CharField(label="Reply", max_length=4096, widget=forms.Textarea(attrs={"rows": 3}))
    key = forms.UUIDField(widget=forms.HiddenInput)


class TemplateForm(forms.Form):
    template = forms.ChoiceField(label="Template")
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from messaging.inbox import INBOX_TEMPLATES

        super().__init__(*args, **kwargs)
        choices = [(f"{t.name}:{t.language}", t.label) for t in INBOX_TEMPLATES]
        self.fields["template"].choices = choices  # type: ignore[attr-defined]


class InboxFilterForm(forms.Form):
    location = forms.UUIDField(required=False)
    show = forms.ChoiceField(
        required=False,
        choices=[("", "All"), ("unread", "Unread"), ("opted_out", "Opted out")],
    )


class DocumentForm(forms.Form):
    """Send one of the patient's signed PDFs from the chart (the choices are checked by the view
    against the documents the user may open)."""

    document = forms.UUIDField(label="Document", error_messages={"required": "Choose the document to send."})
    key = forms.UUIDField(widget=forms.HiddenInput)
