"""Patients' rights under India's DPDP Act 2023 (the clinic is the data fiduciary): requests for
access, correction, erasure, portability, grievances and nominations, their timers, the exports
(ZIP archives) that answer access and portability requests, and the register of personal data
breaches (incidents, their affected patients and the notices they were sent). Tenant-schema models."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import ApiToken, Location, User
from docos.fields import EncryptedTextField
from docos.models import UUIDModel
from messaging.models import OutboundMessage
from patients.models import Patient

ANSWER_DAYS_MAX = 90  # DPDP Rules 2025, rule 14(3): grievances answered within at most 90 days
CERT_IN_HOURS = 6  # CERT-In directions of 28 April 2022: report within 6 hours of noticing
BOARD_HOURS = 72  # DPDP Rules 2025, rule 7(2)(b): the detailed report to the Board within 72 hours


class PrivacySettings(models.Model):
    """The clinic's published periods (one row). Retention periods may only be longer than the law's."""

    acknowledge_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Days to acknowledge a request (the SLA timer on the dashboard).",
    )
    answer_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(ANSWER_DAYS_MAX)],
        help_text="Days to answer a request or grievance; the DPDP Rules allow at most 90 (rule 14).",
    )
    privacy_contact = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who patients contact about their data (name, phone, email): said in breach notices.",
    )
    clinical_retention_years = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(10), MaxValueValidator(100)]
    )
    billing_retention_years = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(8), MaxValueValidator(100)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(answer_days__gte=1, answer_days__lte=ANSWER_DAYS_MAX),
                name="privacy_answer_days_at_most_90",
            )
        ]

    def __str__(self) -> str:
        return "Privacy settings"


class RightsRequest(UUIDModel):
    class Kind(models.TextChoices):
        ACCESS = "access", "Access (a copy of the record)"
        CORRECTION = "correction", "Correction"
        ERASURE = "erasure", "Erasure"
        PORTABILITY = "portability", "Portability (machine-readable copy)"
        GRIEVANCE = "grievance", "Grievance"
        NOMINATION = "nomination", "Nomination (someone to act on the patient's behalf)"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"

    class Relation(models.TextChoices):
        SELF = "self", "The patient"
        GUARDIAN = "guardian", "Parent or guardian"
        NOMINEE = "nominee", "Nominee"
        OTHER = "other", "Other (authorised in writing)"

    class Verification(models.TextChoices):
        IN_PERSON_ID = "in_person_id", "In person, photo ID seen"
        OTP_REGISTERED_PHONE = "otp_phone", "One-time code to the registered phone"
        ABHA = "abha", "ABHA login"
        GUARDIAN_PROOF = "guardian_proof", "Guardian's ID and proof of relationship"
        WRITTEN_AUTHORISATION = "written", "Signed authorisation from the patient"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        FULFILLED = "fulfilled", "Fulfilled"
        EXPORTED = "exported", "Copy provided"
        CORRECTED = "corrected", "Details corrected"
        ERASED = "erased", "Erased"
        RESTRICTED = "restricted", "Restricted (records the law requires us to keep)"
        RESOLVED = "resolved", "Grievance resolved"
        REFUSED = "refused", "Refused (reason recorded)"

    OPEN = (Status.RECEIVED, Status.ACKNOWLEDGED, Status.IN_PROGRESS)

    reference = models.CharField(max_length=16, unique=True)  # PR-000123, said to the patient
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")  # where it was received
    requester_name = EncryptedTextField(max_length=120, clinic_key=True)
    requester_relation = models.CharField(max_length=10, choices=Relation.choices, default=Relation.SELF)
    requester_contact = EncryptedTextField(max_length=120, blank=True, clinic_key=True)
    verification = models.CharField(max_length=16, choices=Verification.choices)
    details = EncryptedTextField(blank=True, clinic_key=True)
    received_at = models.DateTimeField(default=timezone.now)
    acknowledge_due_at = models.DateTimeField()
    answer_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    outcome_note = EncryptedTextField(blank=True, clinic_key=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "answer_due_at"], name="rights_request_open")]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def due_at(self) -> dt.datetime:
        """The next deadline: acknowledgement until acknowledged, then the answer."""
        return self.acknowledge_due_at if self.acknowledged_at is None else self.answer_due_at

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.is_open and self.due_at() < (now or timezone.now())


class PatientExport(UUIDModel):
    """The ZIP that answers an access or portability request: built by a Celery task with progress,
    stored encrypted, downloadable until `expires_at` (each download audited)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    request = models.ForeignKey(RightsRequest, on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=80, blank=True)  # what it is doing, for the page
    storage_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export {self.created_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


# --- personal data breaches (DPDP Rules 2025, rule 7; CERT-In directions 2022) ----------------------


class BreachIncident(UUIDModel):
    """A personal data breach the clinic became aware of: what happened, when, its two reporting
    timers from discovery (CERT-In 6 hours, the Data Protection Board 72 hours), the patients
    affected (computed from the access and audit logs where the kind allows, corrected by hand) and
    the notice each of them is sent. The title is shown in lists: no patient names in it."""

    class Kind(models.TextChoices):
        STAFF_ACCOUNT = "staff_account", "A staff account was used by someone else"
        API_TOKEN = "api_token", "An API token leaked"
        LOST_DEVICE = "lost_device", "A device or paper records were lost or stolen"
        MISDIRECTED = "misdirected", "Data sent to the wrong person"
        VENDOR = "vendor", "A processor (vendor) had a breach"
        MALWARE = "malware", "Malware or ransomware"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONTAINED = "contained", "Contained"
        CLOSED = "closed", "Closed"

    COMPUTABLE = (Kind.STAFF_ACCOUNT, Kind.API_TOKEN)

    reference = models.CharField(max_length=16, unique=True)  # BR-000001
    title = models.CharField(max_length=200)
    description = EncryptedTextField(blank=True, clinic_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    discovered_at = models.DateTimeField()
    occurred_from = models.DateTimeField(null=True, blank=True)
    occurred_to = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cert_in_due_at = models.DateTimeField()
    cert_in_reported_at = models.DateTimeField(null=True, blank=True)
    cert_in_reference = models.CharField(max_length=100, blank=True)
    board_due_at = models.DateTimeField()
    board_reported_at = models.DateTimeField(null=True, blank=True)
    board_reference = models.CharField(max_length=100, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    affected_computed_at = models.DateTimeField(null=True, blank=True)
    affected_derivation = models.TextField(blank=True)  # how the computed list was made (counts, no PHI)
    # The notice to each affected patient (rule 7(1)): editable, drafted from the incident.
    notice_happened = models.TextField(blank=True)
    notice_data = models.TextField(blank=True)
    notice_actions = models.TextField(blank=True)
    notice_steps = models.TextField(blank=True)
    notice_contact = models.TextField(blank=True)
    notice_updated_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-discovered_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(occurred_from__isnull=True)
                | models.Q(occurred_to__isnull=True)
                | models.Q(occurred_from__lte=models.F("occurred_to")),
                name="breach_occurred_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @staticmethod
    def _timer(due: dt.datetime, reported: dt.datetime | None, now: dt.datetime) -> str:
        if reported is not None:
            return "reported_late" if reported > due else "reported"
        return "overdue" if now >= due else "due"

    def cert_in_state(self, now: dt.datetime | None = None) -> str:
        """ "due", "overdue" (at and after the deadline), "reported" or "reported_late"."""
        return self._timer(self.cert_in_due_at, self.cert_in_reported_at, now or timezone.now())

    def board_state(self, now: dt.datetime | None = None) -> str:
        return self._timer(self.board_due_at, self.board_reported_at, now or timezone.now())

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return "overdue" in (self.cert_in_state(now), self.board_state(now))


class AffectedPatient(models.Model):
    """A patient a breach affected: computed from the logs or added by hand; removing one keeps the
    row (excluded) so a recomputation does not bring them back. The notice channel and message are
    recorded once per patient, so sending again sends nothing twice."""

    class Source(models.TextChoices):
        COMPUTED = "computed", "From the access and audit logs"
        MANUAL = "manual", "Added by hand"

    class Channel(models.TextChoices):
        NONE = "", "Not sent"
        WHATSAPP = "whatsapp", "WhatsApp"
        PRINT = "print", "Printed or emailed by staff"

    id = models.BigAutoField(primary_key=True)
    incident = models.ForeignKey(BreachIncident, on_delete=models.CASCADE, related_name="affected")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices)
    basis = models.CharField(max_length=200, blank=True)  # "record access: chart, visit; 2 audit events"
    excluded = models.BooleanField(default=False)
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)
    notice_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    notice_reason = models.CharField(max_length=64, blank=True)  # why not WhatsApp (messaging's code)
    notice_message = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    noticed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident", "patient"], name="breach_affected_once_per_patient")]

    def __str__(self) -> str:
        return f"{self.incident_id} / {self.patient_id}"


class NoticeRun(UUIDModel):
    """One "send the notices" of an incident: a Celery task with progress and counts."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    incident = models.ForeignKey(BreachIncident, on_delete=models.CASCADE, related_name="notice_runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    whatsapp = models.PositiveIntegerField(default=0)  # handed to the WhatsApp outbox
    printable = models.PositiveIntegerField(default=0)  # WhatsApp impossible: printed or emailed by staff
    already = models.PositiveIntegerField(default=0)  # noticed by an earlier run: nothing sent again
    error = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Notices {self.created_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        if self.total == 0:
            return 100 if self.status == self.Status.DONE else 0
        return 100 * self.done // self.total
