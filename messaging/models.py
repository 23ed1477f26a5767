"""Messaging records of a clinic (tenant schema). The WhatsApp issue grows this app (accounts,
templates, conversations, inbound messages); today it holds the outbound template messages that
reminders send through `messaging.services.message_send_template`."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from docos.fields import EncryptedJSONField
from docos.models import UUIDModel


class OutboundMessage(UUIDModel):
    """One WhatsApp template message to a patient (or their guardian), recorded before it is handed
    to the WhatsApp client. `idempotency_key` makes a repeated send return this row instead of
    sending again; `vendor_message_id` is how delivery receipts find it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    to_number = models.CharField(max_length=16, blank=True)  # E.164; empty when the patient has none
    template_name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    # Template parameters quote patient details (names, times): encrypted at rest with the clinic's data key.
    parameters = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=64, blank=True)  # a machine code, e.g. whatsapp_not_configured
    vendor_message_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=160, unique=True)
    # What the message is about, e.g. ("appointments.reminder", "<uuid>"): status listeners use it.
    related_type = models.CharField(max_length=64, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["related_type", "related_id"], name="outbound_related"),
            models.Index(fields=["patient", "-created_at"], name="outbound_patient"),
            models.Index(fields=["status", "-created_at"], name="outbound_status"),
        ]

    def __str__(self) -> str:
        return f"{self.template_name} ({self.get_status_display()})"
