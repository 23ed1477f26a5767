"""Schedules, appointments, the walk-in queue and reminders. All tenant-schema models.

Times are aware datetimes (UTC in the database); working hours, breaks and holidays are wall-clock
times and dates in the location's time zone (`accounts.Location.timezone`).

No clinician is ever booked twice at once: the exclusion constraint `appointment_no_double_booking`
(btree_gist) refuses two active, not-overbooked appointments of one clinician whose
[starts_at, ends_at) ranges overlap, whatever the location, even when two requests race.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Location, User
from clinical.models import Prescription, Visit
from docos.fields import EncryptedTextField
from docos.models import UUIDModel
from patients.models import Patient

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #2e7d32.")
TEMPLATE_NAME = RegexValidator(r"^[a-z0-9_]{1,512}$", "WhatsApp template names use lowercase letters, digits and _.")
LANGUAGE_CODE = RegexValidator(r"^[a-z]{2,3}(?:_[A-Z]{2})?$", "Use a WhatsApp language code such as en, hi or en_US.")


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class AppointmentSettings(models.Model):
    """The clinic's appointment policy. One row per clinic schema (key = 1)."""

    key = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # Overbooking needs this and an explicit choice on each booking.
    allow_overbooking = models.BooleanField(default=False)
    # No reminders between these local times (at the location); equal times switch quiet hours off.
    quiet_hours_start = models.TimeField(default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(default=dt.time(8, 0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(key=1), name="appointment_settings_singleton")]

    def __str__(self) -> str:
        return "Appointment settings"


class AppointmentType(UUIDModel):
    """Consultation, follow-up, procedure, ...: clinic-defined, each with its slot length and colour."""

    name = models.CharField(max_length=60)
    duration_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    colour = models.CharField(max_length=7, default="#0b6bcb", validators=[HEX_COLOUR])
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="appointment_type_name_ci_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes)


class WorkingHours(UUIDModel):
    """A clinician's weekly session at a location, e.g. Monday 09:30-13:30 at Koramangala."""

    clinician = models.ForeignKey(User, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="working_hours_positive"),
        ]
        indexes = [models.Index(fields=["clinician", "weekday"], name="working_hours_clinician")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class ScheduleBreak(UUIDModel):
    """A break inside a session (tea, rounds): no slots are offered during it."""

    working_hours = models.ForeignKey(WorkingHours, on_delete=models.CASCADE, related_name="breaks")
    start_time = models.TimeField()
    end_time = models.TimeField()
    label = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["start_time"]
        constraints = [models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="break_positive")]

    def __str__(self) -> str:
        return f"Break {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Leave(UUIDModel):
    """A clinician away (conference, illness): no slots at any location during [starts_at, ends_at)."""

    clinician = models.ForeignKey(User, on_delete=models.CASCADE, related_name="leaves")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="leave_positive")]
        indexes = [models.Index(fields=["clinician", "starts_at"], name="leave_clinician")]

    def __str__(self) -> str:
        return f"Leave {self.starts_at:%Y-%m-%d}"


class Holiday(UUIDModel):
    """A day the clinic (or one location) is closed, in the location's calendar."""

    date = models.DateField()
    name = models.CharField(max_length=80)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="holidays")

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["date", "location"], nulls_distinct=False, name="holiday_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%Y-%m-%d})"


class Appointment(UUIDModel):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed by patient"
        CHECKED_IN = "checked_in", "Checked in"
        IN_CONSULTATION = "in_consultation", "In consultation"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    class Source(models.TextChoices):
        DESK = "desk", "Front desk"
        PHONE = "phone", "Phone"
        API = "api", "API"
        WHATSAPP = "whatsapp", "WhatsApp"

    class CancelReason(models.TextChoices):
        PATIENT_REQUEST = "patient_request", "Patient asked to cancel"
        PATIENT_WHATSAPP = "patient_whatsapp", "Patient cancelled on WhatsApp"
        CLINICIAN_UNAVAILABLE = "clinician_unavailable", "Clinician unavailable"
        CLINIC_CLOSED = "clinic_closed", "Clinic closed"
        BOOKED_IN_ERROR = "booked_in_error", "Booked in error"
        LEFT_WITHOUT_BEING_SEEN = "left", "Left without being seen"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    is_overbooked = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DESK)
    notes = EncryptedTextField(null=True, blank=True, clinic_key=True)  # reason for the visit, as told to the desk
    # When the current time was set (booking or last reschedule): reminders due before it are not sent.
    scheduled_at = models.DateTimeField(default=timezone.now)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reschedule_requested_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=24, choices=CancelReason.choices, blank=True)
    cancel_note = models.CharField(max_length=200, blank=True)
    cancelled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    booked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    ACTIVE = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_CONSULTATION)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_positive"),
            ExclusionConstraint(
                name="appointment_no_double_booking",
                index_type="gist",
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["booked", "confirmed", "checked_in", "in_consultation"], is_overbooked=False),
                violation_error_message="The clinician already has an appointment at that time.",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "starts_at"], name="appointment_location_day"),
            models.Index(fields=["clinician", "starts_at"], name="appointment_clinician_day"),
            models.Index(fields=["status", "starts_at"], name="appointment_status_start"),
            models.Index(fields=["patient", "-starts_at"], name="appointment_patient"),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.starts_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class QueueEntry(UUIDModel):
    """A token in a clinician's daily queue at a location: walk-ins, and appointments once checked in.
    Token numbers run per location and day across its doctors."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        IN_CONSULTATION = "in_consultation", "In consultation"
        DONE = "done", "Done"
        LEFT = "left", "Left without being seen"

    day = models.DateField()  # the location's local date
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="queue_entries")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="queue_entries")
    token = models.PositiveIntegerField()
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="queue_entries")
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="queue_entry"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    added_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    called_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day", "token"]
        constraints = [
            # One numbering per location and day, shared by its doctors (the waiting room shows them together).
            models.UniqueConstraint(fields=["location", "day", "token"], name="queue_token_unique"),
        ]
        indexes = [models.Index(fields=["location", "day", "status"], name="queue_location_day")]

    def __str__(self) -> str:
        return f"Token {self.token} ({self.get_status_display()})"

    @property
    def is_walk_in(self) -> bool:
        return self.appointment_id is None


class ReminderRule(UUIDModel):
    """When to remind, with which WhatsApp template: `offset_minutes` before an appointment, or
    `days_before` a visit's or prescription's follow-up date at `send_time` (location's time)."""

    class Kind(models.TextChoices):
        BEFORE_APPOINTMENT = "appointment", "Before an appointment"
        FOLLOW_UP = "follow_up", "Before a follow-up date"

    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    offset_minutes = models.PositiveIntegerField(
        default=1440, validators=[MinValueValidator(5), MaxValueValidator(60 * 24 * 14)]
    )
    days_before = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(30)])
    send_time = models.TimeField(default=dt.time(10, 0))
    template_name = models.CharField(max_length=512, validators=[TEMPLATE_NAME])
    language = models.CharField(max_length=16, default="en", validators=[LANGUAGE_CODE])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-offset_minutes", "-days_before", "name"]

    def __str__(self) -> str:
        return self.name


# Why a reminder was not sent, for staff; the codes of messaging (consent, WhatsApp errors) read
# through messaging.services.failure_sentence.
REMINDER_REASONS = {
    "appointment_cancelled": "Not sent: the appointment was cancelled.",
    "appointment_checked_in": "Not needed: the patient has arrived.",
    "appointment_in_consultation": "Not needed: the patient has arrived.",
    "appointment_completed": "Not needed: the appointment is over.",
    "appointment_no_show": "Not sent: the patient was marked as a no-show.",
    "rescheduled": "Replaced: the appointment was rescheduled.",
    "too_late": "Not sent: its time had passed.",
    "no_follow_up_date": "Not sent: the follow-up date was removed.",
    "already_booked": "Not needed: a follow-up appointment is already booked.",
}


class Reminder(UUIDModel):
    """One reminder of one rule for one appointment (or follow-up). `key` is unique: scans insert
    with ON CONFLICT DO NOTHING, so a re-run never creates a second row, and a row is claimed for
    sending by one conditional UPDATE (scheduled -> sending), so it is never sent twice."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"
        CANCELLED = "cancelled", "Cancelled"

    key = models.CharField(max_length=160, unique=True)
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="reminders")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reminders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="reminders"
    )
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    prescription = models.ForeignKey(Prescription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    follow_up_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField()  # what the rule asks for
    send_after = models.DateTimeField()  # due_at moved past the clinic's quiet hours
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField(max_length=64, blank=True)  # why failed/skipped/cancelled, a machine code
    message = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["send_after"], condition=Q(status="scheduled"), name="reminder_due"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="reminder_sending"),
            models.Index(fields=["appointment"], name="reminder_appointment"),
            models.Index(fields=["message"], name="reminder_message"),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.key} ({self.get_status_display()})"

    @property
    def reason_text(self) -> str:
        """Why it was not sent, as a sentence for staff ("" when there is nothing to explain)."""
        if not self.reason:
            return ""
        if self.reason in REMINDER_REASONS:
            return REMINDER_REASONS[self.reason]
        from messaging.services import failure_sentence  # services, not models: imported when first needed

        title = self.message.error_title if self.message is not None else ""
        return failure_sentence(self.reason, title)
