"""Forms of the documents, consent and certificate pages. They parse input only; every rule lives
in documents.services and documents.consents, whose errors `apply_service_errors` puts on fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Location, User
from accounts.selectors import clinician_choices, locations_for
from docos.widgets import DateInput
from documents import selectors
from documents.models import CertificateTemplate, ConsentForm, ConsentTemplate, PatientDocument

ACCEPT = ".pdf,.jpg,.jpeg,.png,.heic,.heif,application/pdf,image/jpeg,image/png,image/heic"


def apply_service_errors(exc: ValidationError, form: forms.Form) -> None:
    """Put a service's ValidationError on the form: on a field it names, else on the whole form."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for field, messages in exc.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class LocationChoiceMixin:
    """A `location` field limited to the user's active locations (hidden when there is only one)."""

    fields: dict[str, Any]

    def setup_location(self, user: User, initial: Location | None) -> None:
        queryset = locations_for(user).order_by("name")
        field = self.fields["location"]
        field.queryset = queryset
        if initial is not None and queryset.filter(pk=initial.pk).exists():
            field.initial = initial.pk
        if queryset.count() <= 1:
            field.widget = forms.HiddenInput()
            first = queryset.first()
            if first is not None:
                field.initial = first.pk


class DocumentUploadForm(LocationChoiceMixin, forms.Form):
    file = forms.FileField(
        label="File",
        help_text="PDF, JPEG, PNG or HEIC (photos from an iPhone).",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": "Choose the file to upload.", "empty": "This file is empty."},
    )
    title = forms.CharField(
        label="Title",
        max_length=200,
        required=False,
        help_text="Leave blank to use the file name.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. CBC report, March"}),
    )
    category = forms.ChoiceField(
        label="Kind", choices=PatientDocument.Category.choices, required=False, initial=PatientDocument.Category.REPORT
    )
    location = forms.ModelChoiceField(
        label="Location", queryset=Location.objects.none(), empty_label=None, required=False
    )

    def __init__(self, *args: Any, user: User, default_location: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_location(user, default_location)


class ConsentStartForm(forms.Form):
    """Step 1 (staff): which template, for which procedure, with which doctor."""

    template = forms.ModelChoiceField(
        label="Consent form",
        queryset=ConsentTemplate.objects.none(),
        empty_label="Choose a consent form",
        error_messages={"required": "Choose the consent form to sign.", "invalid_choice": "Choose a current form."},
    )
    procedure = forms.CharField(label="Procedure", max_length=200, required=False)
    doctor = forms.ModelChoiceField(
        label="Doctor", queryset=User.objects.none(), required=False, empty_label="(the person preparing the form)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.consent_templates()  # type: ignore[attr-defined]
        self.fields["doctor"].queryset = clinician_choices()  # type: ignore[attr-defined]


class ConsentSignForm(LocationChoiceMixin, ConsentStartForm):
    """Step 2 (on the tablet): who signs, the witness, and the signature itself."""

    signer_relation = forms.ChoiceField(
        label="Who signs",
        choices=ConsentForm.SignerRelation.choices,
        widget=forms.RadioSelect,
        initial=ConsentForm.SignerRelation.SELF,
    )
    signer_name = forms.CharField(label="Name of the person signing", max_length=120, required=False)
    witness_name = forms.CharField(label="Witness (optional)", max_length=120, required=False)
    location = forms.ModelChoiceField(
        label="Signed at", queryset=Location.objects.none(), empty_label=None, required=False
    )
    signature = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1_000_000)

    def __init__(self, *args: Any, user: User, default_location: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_location(user, default_location)
        for name in ("template", "procedure", "doctor"):
            self.fields[name].widget = forms.HiddenInput()
        self.fields["signer_name"].widget.attrs.update({"autocomplete": "off", "data-signer-name": ""})
        self.fields["witness_name"].widget.attrs["autocomplete"] = "off"


class CertificateForm(LocationChoiceMixin, forms.Form):
    template = forms.ModelChoiceField(
        label="Template", queryset=CertificateTemplate.objects.none(), required=False, widget=forms.HiddenInput
    )
    kind = forms.ChoiceField(label="Kind", choices=CertificateTemplate.Kind.choices)
    from_date = forms.DateField(label="From", required=False, widget=DateInput())
    to_date = forms.DateField(label="To (last day)", required=False, widget=DateInput())
    diagnosis = forms.CharField(label="Illness or diagnosis", max_length=200, required=False)
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Placeholders such as {{ patient_name }}, {{ from_date }}, {{ to_date }}, {{ days }} and "
        "{{ diagnosis }} are filled in when you sign.",
        error_messages={"required": "Write the text of the certificate."},
    )
    location = forms.ModelChoiceField(
        label="Location", queryset=Location.objects.none(), empty_label=None, required=False
    )

    def __init__(self, *args: Any, user: User, default_location: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.certificate_templates()  # type: ignore[attr-defined]
        self.setup_location(user, default_location)


class TemplateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    kind = forms.ChoiceField(label="Kind")
    body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 12}))
    is_active = forms.BooleanField(label="In use", required=False, initial=True)

    def __init__(self, *args: Any, kinds: Any, placeholders: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]
        self.fields["body"].help_text = "Placeholders: " + ", ".join(f"{{{{ {name} }}}}" for name in placeholders)
