"""Visits (notes, vitals, diagnoses, addenda), the formulary and prescriptions. Tenant-schema models.

Signed visits and prescriptions are never edited: visits take addenda, prescriptions new versions.

Clinical text (complaint, notes, diagnoses, procedures, advice, addenda, every prescription line's
drug, strength, dose, frequency, duration and instructions) is encrypted with the clinic's data key
(`clinic_key=True`): it cannot be filtered or sorted in SQL. Dates, statuses, vitals and links stay
plain; so does the formulary (the clinic's drug list, not patient data), which the prescription
lines link to (README: "What is encrypted where").
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Location, User
from docos.fields import EncryptedJSONField, EncryptedTextField
from docos.models import UUIDModel
from documents.models import SignedDocument
from patients.models import Patient


class Visit(UUIDModel):
    """A consultation. Signed visits are never edited: changes are addenda."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="visits")
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="visits")
    visit_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    chief_complaint = EncryptedTextField(max_length=300, blank=True, clinic_key=True)
    bp_systolic = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(40), MaxValueValidator(300)]
    )
    bp_diastolic = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(20), MaxValueValidator(200)]
    )
    pulse = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(20), MaxValueValidator(250)]
    )
    temperature_c = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("30")), MaxValueValidator(Decimal("45"))],
    )
    spo2 = models.PositiveSmallIntegerField(
        "SpO2", null=True, blank=True, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.3")), MaxValueValidator(Decimal("400"))],
    )
    height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("20")), MaxValueValidator(Decimal("260"))],
    )
    # Clinical narrative, encrypted at rest: {"history", "examination", "subjective", "objective", "assessment", "plan"}
    notes = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    # [{"text": ..., "icd10": ...}], encrypted whole (no report reads the codes in SQL).
    diagnoses = EncryptedJSONField(default=list, blank=True, clinic_key=True)
    procedures_performed = EncryptedTextField(blank=True, clinic_key=True)
    advice = EncryptedTextField(blank=True, clinic_key=True)
    follow_up_date = models.DateField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-visit_at"]
        indexes = [
            models.Index(fields=["patient", "-visit_at"], name="visit_patient"),
            models.Index(fields=["location", "-visit_at"], name="visit_location"),
            models.Index(fields=["follow_up_date"], name="visit_follow_up"),
        ]

    def __str__(self) -> str:
        return f"Visit {self.visit_at:%Y-%m-%d} ({self.get_status_display()})"

    @property
    def bmi(self) -> Decimal | None:
        if not self.weight_kg or not self.height_cm:
            return None
        metres = Decimal(self.height_cm) / 100
        return (Decimal(self.weight_kg) / (metres * metres)).quantize(Decimal("0.1"))


class VisitAddendum(UUIDModel):
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(clinic_key=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Addendum {self.created_at:%Y-%m-%d %H:%M}"


class FormularyDrug(UUIDModel):
    """The clinic's own drug list; grows as doctors prescribe."""

    name = models.CharField(max_length=120)
    strength = models.CharField(max_length=40, blank=True)
    form = models.CharField(max_length=40, blank=True)
    default_dose = models.CharField(max_length=40, blank=True)
    default_frequency = models.CharField(max_length=20, blank=True)
    default_route = models.CharField(max_length=30, blank=True)
    default_duration = models.CharField(max_length=30, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-use_count", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), Lower("strength"), Lower("form"), name="formulary_drug_unique")
        ]
        indexes = [GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="formulary_name_trgm")]  # ILIKE

    def __str__(self) -> str:
        return " ".join(part for part in (self.name, self.strength, self.form) if part)


class Prescription(UUIDModel):
    """Signed prescriptions are immutable; a change creates a new version pointing to the old one."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"
        SUPERSEDED = "superseded", "Superseded"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="prescriptions")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="prescriptions")
    prescriber = models.ForeignKey(User, on_delete=models.PROTECT, related_name="prescriptions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveSmallIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    general_advice = EncryptedTextField(blank=True, clinic_key=True)
    general_advice_hi = EncryptedTextField("General advice (Hindi)", blank=True, clinic_key=True)
    follow_up_date = models.DateField(null=True, blank=True)
    print_hindi = models.BooleanField(default=False)
    signed_at = models.DateTimeField(null=True, blank=True)
    document = models.OneToOneField(
        SignedDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="prescription"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="rx_patient"),
            models.Index(fields=["follow_up_date"], name="rx_follow_up"),
        ]

    def __str__(self) -> str:
        return f"Prescription v{self.version} ({self.get_status_display()})"


class PrescriptionItem(UUIDModel):
    class FoodRelation(models.TextChoices):
        ANY = "", "—"
        BEFORE = "before", "Before food"
        AFTER = "after", "After food"
        WITH = "with", "With food"
        EMPTY = "empty", "On an empty stomach"

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    drug = models.ForeignKey(FormularyDrug, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What was prescribed is encrypted; the dosage form, route and food relation (short vocabularies)
    # stay plain, as does `drug` (set at signing, to count the formulary drug's use).
    drug_name = EncryptedTextField(max_length=120, clinic_key=True)
    strength = EncryptedTextField(max_length=40, blank=True, clinic_key=True)
    form = models.CharField(max_length=40, blank=True)
    dose = EncryptedTextField(max_length=40, blank=True, clinic_key=True)
    frequency = EncryptedTextField(max_length=20, blank=True, clinic_key=True)  # e.g. 1-0-1
    route = models.CharField(max_length=30, blank=True)
    duration = EncryptedTextField(max_length=30, blank=True, clinic_key=True)
    food_relation = models.CharField(max_length=8, choices=FoodRelation.choices, blank=True)
    instructions = EncryptedTextField(max_length=300, blank=True, clinic_key=True)
    instructions_hi = EncryptedTextField("Instructions (Hindi)", max_length=300, blank=True, clinic_key=True)
    # The prescriber chose to write a medicine that is not in the formulary, as typed (a line that
    # names no known medicine is refused unless this is set: "amox" must not be signed by accident).
    free_text = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.drug_name


class PatientAllergy(UUIDModel):
    """A recorded allergy of a patient: the allergen as said, its class for the prescription check
    (a key of clinical/data/allergy_classes.json, or blank), the reaction and its severity. Resolved
    allergies are kept (who and when), never deleted. The free-text `Patient.allergies` stays too."""

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        UNKNOWN = "unknown", "Not known"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergy_records")
    allergen = EncryptedTextField(max_length=120, clinic_key=True)
    allergen_class = models.CharField(max_length=40, blank=True)  # short vocabulary: plain, like `route`
    reaction = EncryptedTextField(max_length=200, blank=True, clinic_key=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    noted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    noted_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-noted_at"]
        indexes = [models.Index(fields=["patient", "status"], name="allergy_patient_status")]

    def __str__(self) -> str:
        return f"Allergy ({self.get_status_display()})"


class PrescriptionSafetyOverride(UUIDModel):
    """A safety finding (allergy, cross-reactivity, duplicate, interaction) the prescriber signed
    despite, with their reason. Kept for the record and audited; never printed on the prescription."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="safety_overrides")
    code = models.CharField(max_length=120)  # the finding's code, e.g. allergy:penicillins
    kind = models.CharField(max_length=20)
    severity = models.CharField(max_length=10)
    # What the prescriber was shown, and why they went ahead: both name the patient's drugs and allergies.
    finding = EncryptedTextField(clinic_key=True)
    reason = EncryptedTextField(max_length=500, clinic_key=True)
    overridden_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["overridden_at"]
        constraints = [models.UniqueConstraint(fields=["prescription", "code"], name="rx_override_unique_code")]

    def __str__(self) -> str:
        return f"Override of {self.kind}"


class PrescriptionTemplate(UUIDModel):
    """A doctor's own starting point for a prescription ("URTI adult", "Fever child by weight"):
    lines and advice copied into a new prescription form, to check and sign. Each doctor sees only
    their own. Lines are plain JSON (no patient data, like the formulary); a line with no dose is
    dosed by weight for a weighed child when the formulary has a standard paediatric dose."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="prescription_templates")
    name = models.CharField(max_length=80)
    items = models.JSONField(default=list)  # [{drug_name, strength, form, dose, frequency, route, duration, ...}]
    general_advice = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("owner", Lower("name"), name="rx_template_owner_name")]

    def __str__(self) -> str:
        return self.name


class FavouriteMedicine(UUIDModel):
    """A medicine a doctor starred: offered first in their prescription line's medicine search and
    listed on their consultation screen. Each doctor's own (not the clinic's). `key` names the
    entry as the medicine search does: "clinic:<formulary drug id>" (then `drug` is set) or a
    reference formulary key ("brand:dolo-650"); name, strength and form are kept for the list."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="favourite_medicines")
    key = models.CharField(max_length=200)
    drug = models.ForeignKey(FormularyDrug, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    strength = models.CharField(max_length=40, blank=True)
    form = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "strength"]
        constraints = [models.UniqueConstraint("owner", "key", name="favourite_medicine_owner_key")]

    def __str__(self) -> str:
        return " ".join(part for part in (self.name, self.strength, self.form) if part)
