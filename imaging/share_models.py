"""Share links of imaging studies, and the log of every use of one (models; imported by imaging.models).

A link opens ONE study, read-only, for a limited time (default 7 days, at most 30) on the clinic's
own host, without signing in. Only the SHA-256 of its secret is looked up; the secret itself is kept
encrypted with the clinic's key so staff can copy the link again. A link may also ask for a one-time
code sent to the patient's WhatsApp (stored hashed, valid for minutes, few attempts). Revoking ends
it at once. Each opening, code request and attempt, and refusal is a ShareAccess row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import User
from docos.fields import EncryptedTextField
from docos.models import UUIDModel


class ShareLink(UUIDModel):
    study = models.ForeignKey("imaging.Study", on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField(clinic_key=True)  # the URL secret, for staff to copy the link again
    note = models.CharField(max_length=120, blank=True)  # who it is for, e.g. "second opinion"
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    require_code = models.BooleanField(default=False)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveIntegerField(default=0)
    codes_sent = models.PositiveIntegerField(default=0)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    access_count = models.PositiveIntegerField(default=0)
    last_accessed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["study", "-created_at"], name="imaging_share_study")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="imaging_share_expiry"
            )
        ]

    def __str__(self) -> str:
        return f"Share link until {self.expires_at:%Y-%m-%d}"

    def state(self, now: object | None = None) -> str:
        """ "active", "expired" or "revoked"."""
        moment = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= moment:  # type: ignore[operator]
            return "expired"
        return "active"


class ShareAccess(UUIDModel):
    class Event(models.TextChoices):
        VIEWED = "viewed", "Opened the study"
        CODE_SENT = "code_sent", "One-time code sent"
        CODE_REFUSED = "code_refused", "Code not sent (limit or no WhatsApp)"
        CODE_WRONG = "code_wrong", "Wrong or expired code"
        CODE_OK = "code_ok", "Code accepted"
        REFUSED = "refused", "Refused (expired or revoked link)"

    share = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="accesses")
    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=16, choices=Event.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["share", "-at"], name="imaging_share_access")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} at {self.at:%Y-%m-%d %H:%M}"
