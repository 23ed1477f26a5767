import uuid

from django.db import models
from django.utils import timezone

from docos.fields import EncryptedTextField


class UUIDModel(models.Model):
    """Primary key made in Python, so encrypted fields can bind their ciphertext to the row on insert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class WebhookEvent(UUIDModel):
    """A vendor webhook delivery as received (public schema), unique per (vendor, event id), so a
    replay is stored once. The raw body carries PHI (message texts, phone numbers): encrypted."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    vendor = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    body = EncryptedTextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    note = models.CharField(max_length=64, blank=True)  # a machine code, never PHI
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "event_id"], name="webhook_event_unique")]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_event_status")]

    def __str__(self) -> str:
        return f"{self.vendor} {self.event_id[:12]} ({self.status})"
