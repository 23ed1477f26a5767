"""Messaging records of a clinic (tenant schema): the clinic's WhatsApp account, the outbox of
outbound messages, contacts (WhatsApp users, keyed by their business-scoped user id), inbound
messages and the status receipts WhatsApp reports."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from docos.fields import EncryptedJSONField, EncryptedTextField
from docos.models import UUIDModel


class WhatsAppAccount(UUIDModel):
    """The clinic's WhatsApp Business number (one per clinic). The access token is a secret:
    encrypted. `phone_number_id` is mirrored into the public routing table (clinics.VendorRoute)
    by `messaging.services.whatsapp_settings_update`, in the same transaction."""

    slot = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)  # at most one row
    waba_id = models.CharField("WhatsApp Business Account id", max_length=32, blank=True)
    phone_number_id = models.CharField("phone number id", max_length=32, blank=True)
    display_number = models.CharField("display number", max_length=20, blank=True)
    access_token = EncryptedTextField(blank=True)
    is_enabled = models.BooleanField("send WhatsApp messages", default=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"WhatsApp {self.display_number or self.phone_number_id or '(not connected)'}"

    @property
    def is_configured(self) -> bool:
        return bool(self.phone_number_id and self.access_token)


class Contact(UUIDModel):
    """A WhatsApp user who wrote to the clinic (or was written to). Since 2026 WhatsApp identifies
    users by a business-scoped user id (`user_id`, e.g. "IN.1234...") and may withhold the phone
    number, so the phone (`wa_id`) is optional; older payloads carry only the phone. Linked to a
    patient by phone when exactly one patient has that number (or by staff, later in the inbox)."""

    user_id = models.CharField(max_length=160, null=True, blank=True, unique=True)
    wa_id = models.CharField(max_length=20, null=True, blank=True, unique=True)  # digits, no "+"
    profile = EncryptedJSONField(default=dict, clinic_key=True)  # {"name": ..., "username": ...}
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="whatsapp_contacts"
    )
    opted_out_at = models.DateTimeField(null=True, blank=True)  # STOP, also when no patient is linked
    last_inbound_at = models.DateTimeField(null=True, blank=True)  # opens the 24-hour service window
    # The inbox: conversations sort by their newest message; inbound messages after `read_up_to`
    # are unread (one marker for the clinic: whoever answers the desk's WhatsApp reads it for all).
    last_message_at = models.DateTimeField(null=True, blank=True)
    read_up_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # "Retain": kept past the 90-day text retention for clinical or legal reasons (the reason may
    # name the patient's case: encrypted). Null: not retained.
    retained_at = models.DateTimeField(null=True, blank=True)
    retained_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    retain_reason = EncryptedTextField(null=True, blank=True, clinic_key=True)

    class Meta:
        indexes = [models.Index(fields=["-last_message_at"], name="contact_last_message")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user_id__isnull=False) | models.Q(wa_id__isnull=False), name="contact_has_an_id"
            )
        ]

    def __str__(self) -> str:
        return f"Contact {self.pk}"

    @property
    def phone(self) -> str:
        return f"+{self.wa_id}" if self.wa_id else ""


class MediaStatus(models.TextChoices):
    PENDING = "pending", "Downloading"
    STORED = "stored", "Stored"
    FAILED = "failed", "Could not be downloaded"
    PURGED = "purged", "Removed after the retention period"


class InboundMessage(UUIDModel):
    """A message a WhatsApp user sent the clinic. Unique by WhatsApp's message id: a redelivered
    webhook stores nothing twice. The body (text, button or list reply title) is encrypted."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="inbound_messages")
    vendor_message_id = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=24)  # text, button, interactive, image, ..., unsupported
    body = EncryptedTextField(null=True, blank=True, clinic_key=True)  # null once purged (retention)
    payload = EncryptedJSONField(
        null=True, blank=True, clinic_key=True
    )  # button payload / reply id, other type details
    context_message_id = models.CharField(max_length=128, blank=True)  # the message replied to
    # Media (image, document, audio, video, sticker): WhatsApp gives an id; a task downloads the
    # bytes through the Graph API and stores them encrypted with the clinic's data key.
    media_id = models.CharField(max_length=128, blank=True)
    media_status = models.CharField(max_length=10, choices=MediaStatus.choices, blank=True)
    media_content_type = models.CharField(max_length=100, blank=True)
    # A document's file name may name the patient: encrypted.
    media_filename = EncryptedTextField(null=True, blank=True, clinic_key=True)
    media_storage_name = models.CharField(max_length=255, blank=True)
    media_sha256 = models.CharField(max_length=64, blank=True)  # of the plaintext, checked on every read
    media_size = models.PositiveBigIntegerField(null=True, blank=True)
    media_error = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField()  # WhatsApp's timestamp
    received_at = models.DateTimeField(default=timezone.now)
    purged_at = models.DateTimeField(null=True, blank=True)  # text and media removed (retention)

    class Meta:
        ordering = ["-sent_at"]
        indexes = [
            models.Index(fields=["contact", "-sent_at"], name="inbound_contact"),
            # the retention run's scan: only rows not yet purged
            models.Index(fields=["sent_at"], condition=models.Q(purged_at__isnull=True), name="inbound_unpurged"),
            models.Index(
                fields=["sent_at"],
                condition=models.Q(purged_at__isnull=False) & ~models.Q(media_storage_name=""),
                name="inbound_purged_file_left",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.contact_id}"


class StatusReceipt(models.Model):
    """A status WhatsApp reported for a message id, stored once per (message id, status): the
    dedupe record of status webhooks. Receipts that arrive before the send committed its message id
    are applied when it does."""

    vendor_message_id = models.CharField(max_length=128)
    status = models.CharField(max_length=10)
    occurred_at = models.DateTimeField()
    error_code = models.CharField(max_length=16, blank=True)
    error_title = models.CharField(max_length=200, blank=True)
    pricing_category = models.CharField(max_length=32, blank=True)
    applied = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor_message_id", "status"], name="status_receipt_unique")]

    def __str__(self) -> str:
        return f"{self.vendor_message_id} {self.status}"


class OutboundMessage(UUIDModel):
    """One WhatsApp message to a patient (or guardian) or a contact: the transactional outbox.

    Written `queued` in the caller's transaction; a worker moves it queued -> sending -> sent (or
    back to queued with `next_attempt_at` after a retryable error, or failed). Receipts move it on
    to delivered and read. `idempotency_key` makes a repeated request return this row instead of
    sending again; `vendor_message_id` is how receipts find it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        TEMPLATE = "template", "Template"
        TEXT = "text", "Text"
        LIST = "list", "Choice list"  # interactive list (e.g. free times); its rows are in `parameters`
        # A signed PDF (prescription, certificate): `parameters` holds the SignedDocument id, the file
        # name and caption; the worker uploads the file to Meta (never a public link) and sends its id.
        DOCUMENT = "document", "Document"

    class Purpose(models.TextChoices):
        NOTIFICATION = "notification", "Notification"  # needs the patient's recorded consent
        REPLY = "reply", "Reply"  # answers the user's own message (e.g. the STOP confirmation)
        TEST = "test", "Test"  # the console's test message to staff

    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEMPLATE)
    purpose = models.CharField(max_length=12, choices=Purpose.choices, default=Purpose.NOTIFICATION)
    to_number = models.CharField(max_length=16, blank=True)  # E.164; empty when the patient has none
    recipient_user_id = models.CharField(max_length=160, blank=True)  # business-scoped user id, no phone
    template_name = models.CharField(max_length=512, blank=True)
    language = models.CharField(max_length=16, blank=True)
    # Template parameters quote patient details (names, times): encrypted at rest with the clinic's data key.
    parameters = EncryptedJSONField(null=True, blank=True, clinic_key=True)
    body = EncryptedTextField(null=True, blank=True, clinic_key=True)  # text messages (null: added to a filled table)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=64, blank=True)  # a machine code, e.g. whatsapp_not_configured, 131026
    error_title = models.CharField(max_length=200, blank=True)  # WhatsApp's title of the error, for staff
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)  # when a queued message is due
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the current send began
    pricing_category = models.CharField(max_length=32, blank=True)  # from the status webhook
    vendor_message_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=160, unique=True)
    # A template's quick-reply payloads, one per button in order ("appt:confirm:<uuid>", ...): ids only,
    # no patient data. The button the patient presses comes back with its payload (messaging.replies).
    button_payloads = models.JSONField(default=list, blank=True)
    # What the message is about, e.g. ("appointments.reminder", "<uuid>"): status listeners use it.
    related_type = models.CharField(max_length=64, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)  # text and parameters removed (retention)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["related_type", "related_id"], name="outbound_related"),
            models.Index(fields=["patient", "-created_at"], name="outbound_patient"),
            models.Index(fields=["status", "-created_at"], name="outbound_status"),
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["created_at"], condition=models.Q(purged_at__isnull=True), name="outbound_unpurged"),
        ]

    def __str__(self) -> str:
        return f"{self.template_name} ({self.get_status_display()})"


class MessageTemplate(UUIDModel):
    """A WhatsApp message template of the clinic: the text Meta reviews before the clinic may send it
    outside the 24-hour window. Not patient data: the clinic's own wording with `{{n}}` variables,
    filled per message from `variables` (what each one is, in order: first_name, clinician, date,
    time, location, clinic, amount, link) and shown with `examples` for Meta's review.

    Drafts and rejected templates are edited here and submitted (`messaging.templates`); Meta's
    review status comes back by "sync". Unique per name and language, as at Meta."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not submitted)"
        PENDING = "pending", "In review at Meta"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        PAUSED = "paused", "Paused by Meta"
        DISABLED = "disabled", "Disabled by Meta"

    class Category(models.TextChoices):
        UTILITY = "UTILITY", "Utility (reminders, prescriptions, payments)"
        MARKETING = "MARKETING", "Marketing"
        AUTHENTICATION = "AUTHENTICATION", "Authentication"

    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.UTILITY)
    body = models.TextField(max_length=1024)
    footer = models.CharField(max_length=60, blank=True)
    buttons = models.JSONField(default=list, blank=True)  # quick reply texts
    variables = models.JSONField(default=list, blank=True)  # source of {{1}}, {{2}}, ...
    examples = models.JSONField(default=list, blank=True)  # one example value per variable
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    meta_id = models.CharField(max_length=32, blank=True)
    rejected_reason = models.CharField(max_length=200, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="message_template_name_language")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"
