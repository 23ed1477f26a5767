"""Patients and their clinical record. All tenant-schema models.

Identifiers are UUIDs (not enumerable across clinics); people read the MRN. Clinical free text
(allergies, chronic conditions) is field-encrypted with the clinic's data key (AES-256-GCM, bound
to its row); fields that staff search on or that must be unique (names, phone numbers, MRN, ABHA)
are not, and rely on database-level protection (README: "What is encrypted where").
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from accounts.models import Location, User
from docos.fields import EncryptedJSONField, EncryptedTextField
from docos.models import UUIDModel

PIN_CODE = RegexValidator(r"^[1-9][0-9]{5}$", "Enter a 6-digit PIN code.")
ABHA_NUMBER = RegexValidator(r"^[0-9]{2}-[0-9]{4}-[0-9]{4}-[0-9]{4}$", "ABHA number is 14 digits: 12-3456-7890-1234.")
AADHAAR_LAST4 = RegexValidator(r"^[0-9]{4}$", "Only the last 4 digits of Aadhaar may be stored.")
E164 = RegexValidator(r"^\+[1-9][0-9]{6,14}$", "Phone numbers are stored in E.164 form, e.g. +919812345678.")


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "O", "Other"
    UNKNOWN = "U", "Not stated"


class BloodGroup(models.TextChoices):
    UNKNOWN = "", "Unknown"
    A_POS = "A+", "A+"
    A_NEG = "A-", "A-"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B-"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB-"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O-"


class Patient(UUIDModel):
    mrn = models.CharField("MRN", max_length=24, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100, blank=True)  # many people have one name
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    date_of_birth = models.DateField(null=True, blank=True)
    dob_is_estimated = models.BooleanField(default=False)  # from a stated age
    phone = models.CharField(max_length=16, blank=True, validators=[E164])
    whatsapp_number = models.CharField(max_length=16, blank=True, validators=[E164])
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField(max_length=64, blank=True)
    pin_code = models.CharField("PIN code", max_length=6, blank=True, validators=[PIN_CODE])
    blood_group = models.CharField(max_length=3, choices=BloodGroup.choices, blank=True)
    allergies = EncryptedTextField(blank=True, clinic_key=True)
    chronic_conditions = EncryptedTextField(blank=True, clinic_key=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=16, blank=True, validators=[E164])
    registered_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="patients")
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    abha_number = models.CharField("ABHA number", max_length=17, blank=True, validators=[ABHA_NUMBER])
    aadhaar_last4 = models.CharField("Aadhaar (last 4 digits)", max_length=4, blank=True, validators=[AADHAAR_LAST4])
    # Minors: messages and consents go to the guardian.
    guardian_name = models.CharField(max_length=120, blank=True)
    guardian_relation = models.CharField(max_length=40, blank=True)
    guardian_phone = models.CharField(max_length=16, blank=True, validators=[E164])
    # Consent to contact over WhatsApp (DPDP: time, source, notice version). Used by messaging.
    whatsapp_consent_at = models.DateTimeField(null=True, blank=True)
    whatsapp_consent_source = models.CharField(max_length=40, blank=True)
    whatsapp_consent_notice_version = models.CharField(max_length=20, blank=True)
    # The staff member who explained the notice and recorded the patient's (or guardian's) agreement;
    # empty when the patient gave it themselves (a WhatsApp START) or it came with an import.
    whatsapp_consent_taken_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    whatsapp_opted_out_at = models.DateTimeField(null=True, blank=True)
    # Import idempotency: the source system's id, when a list came from another system.
    external_ref = models.CharField(max_length=64, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from")
    is_active = models.BooleanField(default=True)
    # Privacy (patients.registry, privacy app). An erasure the retention law does not allow yet is
    # answered with a restriction: hidden from search, no messaging, marked on the record.
    restricted_at = models.DateTimeField(null=True, blank=True)
    restriction_reason = EncryptedTextField(null=True, blank=True, clinic_key=True)
    # Legal hold: every retention purge (clinical, billing, WhatsApp) skips this patient.
    legal_hold_at = models.DateTimeField(null=True, blank=True)
    legal_hold_reason = EncryptedTextField(null=True, blank=True, clinic_key=True)
    # Search keys maintained by services (see patients.search): phonetic name key and phone digits.
    name_key = models.CharField(max_length=220, blank=True, editable=False)
    # Every prefix of every word of name_key: the fast, exact part of the name search.
    search_words = ArrayField(models.CharField(max_length=40), default=list, blank=True, editable=False)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["given_name", "family_name"]
        indexes = [
            GinIndex(fields=["name_key"], opclasses=["gin_trgm_ops"], name="patient_name_key_trgm"),
            GinIndex(fields=["phone_digits"], opclasses=["gin_trgm_ops"], name="patient_phone_trgm"),
            GinIndex(fields=["search_words"], name="patient_search_words"),
            models.Index(fields=["phone"], name="patient_phone"),
            models.Index(fields=["whatsapp_number"], name="patient_whatsapp"),
            models.Index(fields=["guardian_phone"], name="patient_guardian_phone"),
            models.Index(fields=["-created_at"], name="patient_created"),
            models.Index(fields=["abha_number"], name="patient_abha"),
            models.Index(fields=["registered_location", "is_active"], name="patient_location"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_ref"], condition=~models.Q(external_ref=""), name="patient_external_ref_unique"
            ),
            models.UniqueConstraint(
                fields=["abha_number"], condition=~models.Q(abha_number=""), name="patient_abha_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_years(self, on: object | None = None) -> int | None:
        if self.date_of_birth is None:
            return None
        today = timezone.localdate()
        dob = self.date_of_birth
        return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))

    @property
    def is_minor(self) -> bool:
        age = self.age_years()
        return age is not None and age < 18

    @property
    def contact_number(self) -> str:
        """Where WhatsApp messages go: the guardian for minors, else the patient's WhatsApp or phone."""
        if self.is_minor and self.guardian_phone:
            return self.guardian_phone
        return self.whatsapp_number or self.phone


class PatientNameWord(models.Model):
    """Every word that occurs in a patient's name key: the vocabulary the search corrects typos
    against. A query word that finds nobody is swapped for the words within one edit of it
    (`deletes` holds the word with each letter left out, so that is an index lookup). Services add
    words as they write patients; a word nobody has any more is harmless."""

    word = models.CharField(max_length=40, primary_key=True)
    deletes = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        indexes = [
            GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="name_word_trgm"),
            GinIndex(fields=["deletes"], name="name_word_deletes"),
        ]

    def __str__(self) -> str:
        return self.word


class PatientAccessGrant(UUIDModel):
    """ "Open at this branch": a staff member restricted to other branches may open this patient's
    whole record until `expires_at`, for the reason they gave (break-the-glass; audited)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="access_grants")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="patient_access_grants")
    location = models.ForeignKey(Location, null=True, on_delete=models.SET_NULL, related_name="+")  # where they work
    reason = EncryptedTextField(clinic_key=True)  # free text may name the patient's condition
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "patient", "-expires_at"], name="grant_user_patient")]

    def __str__(self) -> str:
        return f"access grant until {self.expires_at:%Y-%m-%d %H:%M}"


class PatientImport(UUIDModel):
    """A patient list from another system (CSV or Excel), imported by a Celery task with progress.

    Rows that may be patients already registered (the registration's duplicate rules) are held for
    review: `review` lists those the check before the import found, `held` those the run held, and
    `decisions` what staff chose for each row ("merge" into a patient, "create" anyway, "skip");
    the task honours the decisions, each once."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        MAPPED = "mapped", "Ready to import"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    original_name = models.CharField(max_length=200)
    storage_name = models.CharField(max_length=255)  # encrypted CSV or .xlsx
    sha256 = models.CharField(max_length=64)
    # SHA-256 of the parsed cells: the same list uploaded again (also re-saved) is recognised.
    content_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    mapping = models.JSONField(default=dict, blank=True)  # csv column -> patient field
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)  # rows merged into a registered patient
    held_count = models.PositiveIntegerField(default=0)  # rows held for review, not decided yet
    errors = EncryptedJSONField(null=True, blank=True, clinic_key=True)  # [{"row": n, "errors": {...}}]; may quote PHI
    # {"scanned": n, "rows": [{"row": n, "candidates": [{"id": uuid, "reasons": [...]}]}]}
    review = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    # [{"row": n, "values": [...], "candidates": [...], "resolved": "" | "created" | "merged" | "skipped"}]
    held = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    # {"<row>": {"action": "merge" | "create" | "skip", "patient": uuid (merge), "by": user id}}
    decisions = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    follow_up = models.JSONField(default=list, blank=True)  # ids of minors imported without guardian details
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.original_name} ({self.get_status_display()})"


class PatientCorrection(UUIDModel):
    """A correction of a patient's details (DPDP right to correction): one version per change, with
    the values before and after (encrypted: they are the patient's details) and the reason."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="corrections")
    version = models.PositiveIntegerField()
    changes = EncryptedJSONField(clinic_key=True)  # {field: {"from": old, "to": new}}
    reason = EncryptedTextField(clinic_key=True)
    reference = models.CharField(max_length=40, blank=True)  # the rights request it answers, if any
    made_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    made_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["patient", "version"], name="patient_correction_version")]

    def __str__(self) -> str:
        return f"Correction v{self.version}"


class PatientFileKey(models.Model):
    """A patient's own file key, wrapped by the clinic's data key (docos.crypto subject keys): the
    files about this patient are encrypted with it. Erasing the patient destroys the key and keeps
    this row as a tombstone (the patient's id and when: no PHI), so every copy of those files, in
    object storage, its versions and backups, is unreadable, and a reader is told the file was
    erased rather than altered. No foreign key: the tombstone outlives the patient's row."""

    subject = models.UUIDField(primary_key=True)  # the patient's id
    wrapped_key = models.BinaryField(null=True)  # None once destroyed
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"file key of {self.subject}"


class ConsentPurpose(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    WHATSAPP_REMINDERS = "whatsapp_reminders", "WhatsApp reminders and notifications"
    MARKETING = "marketing", "Marketing messages"
    AI_ASSISTANCE = "ai_assistance", "AI assistance"


class ConsentAction(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentGivenBy(models.TextChoices):
    PATIENT = "patient", "Patient"
    GUARDIAN = "guardian", "Guardian"


class ConsentChannel(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PAPER = "paper", "Signed paper form"
    WHATSAPP = "whatsapp", "WhatsApp"
    PHONE = "phone", "Phone call"
    WEB_FORM = "web_form", "Web form"
    API = "api", "API client"
    IMPORT = "import", "Imported list"
    UNRECORDED = "unrecorded", "Not recorded (older record)"  # backfilled opt-outs: the field kept no source


class PatientConsent(UUIDModel):
    """The DPDP consent log: one append-only row per decision of a patient (or, for a minor, their
    guardian) about one purpose, with the notice version shown, when, how and who recorded it. The
    latest row per purpose is the patient's current choice (patients.consents). Rows are written
    by patients.consents only and never changed; an erasure deletes them with the patient. The
    WhatsApp fields on Patient mirror the `whatsapp_reminders` purpose for older code. The service
    keeps `recorded_at` strictly increasing per patient and purpose, so "latest" is never a tie."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consent_log")
    purpose = models.CharField(max_length=24, choices=ConsentPurpose.choices)
    action = models.CharField(max_length=10, choices=ConsentAction.choices)
    given_by = models.CharField(max_length=10, choices=ConsentGivenBy.choices, default=ConsentGivenBy.PATIENT)
    guardian_name = models.CharField(max_length=120, blank=True)
    guardian_relation = models.CharField(max_length=40, blank=True)
    notice_version = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=12, choices=ConsentChannel.choices)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    note = EncryptedTextField(null=True, blank=True, clinic_key=True)  # free text; None when there is none

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["patient", "purpose", "-recorded_at"], name="consent_patient_purpose")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(given_by="patient") | ~models.Q(guardian_name=""), name="consent_guardian_named"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.action} ({self.recorded_at:%Y-%m-%d})"
