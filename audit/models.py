"""The tamper-evident audit log: one hash chain per schema (each clinic, and public)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One row per audited action. Tamper-evident: each row's `row_hash` is an HMAC-SHA256 of its
    content and the previous row's `row_hash`, under the audit key derived from key `key_id` of the
    encryption key ring (see audit.services). `key_id` is "" only on rows written before the chain
    was keyed (plain SHA-256); verification refuses those until `audit_rekey` re-seals them.

    Holds names of changed fields and ids, never PHI values.
    """

    seq = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True)  # staff email at the time; not patient data
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    location_id = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    changed_fields = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=32, blank=True, default="")  # the ring key the row's MAC is derived from
    request_id = models.CharField(max_length=64, blank=True, default="")  # ties the rows of one request together

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["action", "-occurred_at"]), models.Index(fields=["actor_id", "-occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditCheckpoint(models.Model):
    """Written when old audit rows are trimmed: the chain resumes from the last trimmed row's hash."""

    trimmed_through_seq = models.BigIntegerField()
    trimmed_through_hash = models.CharField(max_length=64)
    rows_trimmed = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-trimmed_through_seq"]

    def __str__(self) -> str:
        return f"checkpoint through #{self.trimmed_through_seq}"


class AuditChainHead(models.Model):
    """The newest row of this schema's audit chain, updated in the same transaction as each event.

    The writer links every new event to this head rather than to whatever row is newest in the
    table, so deleting the newest events cannot be papered over by the next write, and
    verification cross-checks the chain's last row against it. One row per schema (key = 1).
    """

    key = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(key=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"


class RecordAccess(models.Model):
    """Who opened a patient's record, and when: one row per staff member, patient and ten-minute
    window (the first read in the window, with what was read), so a clinic can answer a patient's
    "who looked at my record" (DPDP access requests) without a row per page view."""

    WINDOW_SECONDS = 600

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    patient_id = models.UUIDField()
    window = models.BigIntegerField()  # epoch seconds // WINDOW_SECONDS
    first_at = models.DateTimeField(default=timezone.now)
    what = models.CharField(max_length=40)  # "chart", "visit", "prescription.pdf", ... (never PHI)
    location_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-first_at"]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "patient_id", "window"], name="record_access_once_per_window")
        ]
        indexes = [models.Index(fields=["patient_id", "-first_at"], name="record_access_patient")]

    def __str__(self) -> str:
        return f"{self.what} read at {self.first_at:%Y-%m-%d %H:%M}"


class PurgeRun(models.Model):
    """One retention run in this clinic (audit.retention): what each rule removed, as counts only."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict, blank=True)  # rule key -> rows (due, in a dry run)
    failed_rules = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    longest_batch_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Retention run {self.started_at:%Y-%m-%d %H:%M} ({self.status})"
