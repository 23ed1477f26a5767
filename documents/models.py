"""Signed PDFs (prescriptions, consents, certificates), consent and certificate templates, and
uploaded documents. Tenant-schema models; every file is encrypted before it reaches storage.

What a consent or certificate says, and an upload's title and file name, are encrypted with the
clinic's data key (`clinic_key=True`); templates are the clinic's own wording, not patient data,
and stay plain (README: "What is encrypted where")."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Location, User
from docos.fields import EncryptedJSONField, EncryptedTextField
from docos.models import UUIDModel
from patients.models import Patient


class SignedDocument(UUIDModel):
    """A generated, signed PDF (prescription, consent, certificate): immutable, hashed, verifiable."""

    class Kind(models.TextChoices):
        PRESCRIPTION = "prescription", "Prescription"
        CONSENT = "consent", "Consent form"
        CERTIFICATE = "certificate", "Certificate"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="signed_documents")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    verification_code = models.CharField(max_length=16, unique=True)
    storage_name = models.CharField(max_length=255)  # encrypted file in the clinic's storage
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    signed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.verification_code}"


class ConsentTemplate(UUIDModel):
    class Kind(models.TextChoices):
        PROCEDURE = "procedure", "Procedure"
        PHOTOGRAPHY = "photography", "Photography"
        DATA = "data", "Data and WhatsApp contact"
        OTHER = "other", "Other"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Placeholders: {{ patient_name }}, {{ procedure }}, {{ clinic_name }}, {{ doctor_name }}, {{ date }}
    body = models.TextField()
    version = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentForm(UUIDModel):
    class SignerRelation(models.TextChoices):
        SELF = "self", "Patient"
        GUARDIAN = "guardian", "Guardian"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="forms")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    procedure = EncryptedTextField(max_length=200, blank=True, clinic_key=True)
    rendered_text = EncryptedTextField(clinic_key=True)
    signer_name = models.CharField(max_length=120)
    signer_relation = models.CharField(max_length=10, choices=SignerRelation.choices, default=SignerRelation.SELF)
    witness_name = models.CharField(max_length=120, blank=True)
    signed_at = models.DateTimeField(default=timezone.now)
    prepared_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    document = models.OneToOneField(SignedDocument, on_delete=models.PROTECT, related_name="consent")

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.template.name} ({self.signed_at:%Y-%m-%d})"


class CertificateTemplate(UUIDModel):
    class Kind(models.TextChoices):
        SICK_LEAVE = "sick_leave", "Sick leave"
        FITNESS = "fitness", "Fitness"
        CUSTOM = "custom", "Custom"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()  # placeholders as in ConsentTemplate plus {{ from_date }}, {{ to_date }}, {{ diagnosis }}
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Certificate(UUIDModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="certificates")
    template = models.ForeignKey(CertificateTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=CertificateTemplate.Kind.choices)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField(clinic_key=True)
    details = EncryptedJSONField(default=dict, blank=True, clinic_key=True)  # from/to dates, diagnosis wording
    doctor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)
    document = models.OneToOneField(SignedDocument, on_delete=models.PROTECT, related_name="certificate")

    class Meta:
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} certificate ({self.signed_at:%Y-%m-%d})"


class PatientDocument(UUIDModel):
    """An uploaded report or image, encrypted with the clinic's data key before it reaches storage."""

    class Category(models.TextChoices):
        REPORT = "report", "Lab or test report"
        IMAGE = "image", "Clinical image"
        REFERRAL = "referral", "Referral letter"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    title = EncryptedTextField(max_length=200, clinic_key=True)
    category = models.CharField(max_length=12, choices=Category.choices, default=Category.REPORT)
    content_type = models.CharField(max_length=40)
    original_name = EncryptedTextField(max_length=200, blank=True, clinic_key=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="document_patient")]

    def __str__(self) -> str:
        return self.title
