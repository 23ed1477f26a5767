"""DICOM studies, series and instances indexed from uploads, and the uploads (ingest jobs) themselves.

Tenant-schema models. One clinic is one schema, so "unique" below means unique within the clinic.
The originals are stored encrypted with the clinic's data key (docos.storage); the rows keep only
what the study list, search and viewer need (headers read with pydicom, never the pixels).
Study description, accession and referring physician stay plain so they can be searched; the
names a DICOM file carries for the patient are not kept at all (only whether they disagreed with
the chart, as a warning on the upload report, which is encrypted).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from accounts.models import Location, User
from docos.fields import EncryptedJSONField, EncryptedTextField
from docos.models import UUIDModel
from patients.models import Patient


class Study(UUIDModel):
    class Status(models.TextChoices):
        RECEIVING = "receiving", "Receiving images"
        READY = "ready", "Ready"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="imaging_studies")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    study_instance_uid = models.CharField(max_length=64, unique=True)
    study_date = models.DateField(null=True, blank=True)
    study_time = models.TimeField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    modalities = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    accession_number = models.CharField(max_length=64, blank=True)
    referring_physician = models.CharField(max_length=200, blank=True)
    institution = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVING)
    series_count = models.PositiveIntegerField(default=0)
    instance_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-study_date", "-created_at"]
        indexes = [
            models.Index(fields=["patient", "-study_date"], name="imaging_study_patient"),
            models.Index(fields=["-study_date", "-created_at"], name="imaging_study_date"),
            models.Index(fields=["accession_number"], name="imaging_study_accession"),
        ]

    def __str__(self) -> str:
        return self.description or "Imaging study"

    @property
    def modalities_label(self) -> str:
        return ", ".join(self.modalities)


class Series(UUIDModel):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64)
    number = models.IntegerField(null=True, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=200, blank=True)
    instance_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["study", "series_instance_uid"], name="imaging_series_unique_in_study")
        ]

    def __str__(self) -> str:
        return self.description or f"Series {self.number or ''}".strip()


class Instance(UUIDModel):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64, blank=True)
    number = models.IntegerField(null=True, blank=True)
    frames = models.PositiveIntegerField(default=1)
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    photometric = models.CharField(max_length=24, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64, blank=True)
    # Millimetres between pixel centres (row spacing, column spacing): PixelSpacing, else ImagerPixelSpacing.
    pixel_spacing_row = models.FloatField(null=True, blank=True)
    pixel_spacing_col = models.FloatField(null=True, blank=True)
    window_center = models.FloatField(null=True, blank=True)
    window_width = models.FloatField(null=True, blank=True)
    slice_location = models.FloatField(null=True, blank=True)
    storage_name = models.CharField(max_length=255)  # the encrypted original in the clinic's storage
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number", "slice_location", "created_at"]
        indexes = [models.Index(fields=["series", "number"], name="imaging_instance_series")]

    def __str__(self) -> str:
        return f"Image {self.number or ''}".strip()

    @property
    def has_pixels(self) -> bool:
        return self.rows > 0 and self.columns > 0


class Upload(UUIDModel):
    """One upload from the chart (files, a folder or ZIPs) and its ingest job on the `imaging` queue."""

    class Status(models.TextChoices):
        RECEIVING = "receiving", "Receiving files"
        QUEUED = "queued", "Waiting to be processed"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="imaging_uploads")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVING)
    files_expected = models.PositiveIntegerField(default=0)  # as the browser announced them
    bytes_received = models.BigIntegerField(default=0)
    files_total = models.PositiveIntegerField(default=0)  # files to process (ZIP members counted once opened)
    files_done = models.PositiveIntegerField(default=0)
    instances_stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # [{"file": display name, "outcome": "stored|duplicate|error|skipped|warning", "reason": "..."}];
    # file names may name the patient, so the report is encrypted with the clinic's key.
    report = EncryptedJSONField(default=list, blank=True, clinic_key=True)
    failure = models.CharField(max_length=300, blank=True)  # a sentence, never PHI
    studies = models.ManyToManyField(Study, related_name="uploads", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="imaging_upload_patient")]

    def __str__(self) -> str:
        return f"Imaging upload {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.files_total:
            return 0
        return min(99, int(100 * self.files_done / self.files_total))


class UploadPart(UUIDModel):
    """A received chunk of one uploaded file, stored encrypted until the ingest job has read it."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="parts")
    file_index = models.PositiveIntegerField()
    chunk_index = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField()
    name = EncryptedTextField(max_length=300, blank=True, clinic_key=True)  # the file's name (display only)
    storage_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["file_index", "chunk_index"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "file_index", "chunk_index"], name="imaging_part_unique")
        ]


# Share links and their access log live in their own module (imaging/share_models.py).
from imaging.share_models import ShareAccess, ShareLink  # noqa: E402, F401
