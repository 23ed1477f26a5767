"""Indexing DICOM files: one file (`instance_ingest`) and a whole upload (`upload_process`, run by
the `imaging.ingest_upload` task on the `imaging` queue).

Per file: read the header (pydicom, only the elements indexed, never the pixels) -> encrypt the
original with the clinic's key and store it -> file it under its study and series (made on first
sight). Images are inserted 50 at a time (`flush_pending`); a SOP Instance UID the clinic already
holds is a duplicate: the insert skips it, its stored copy is deleted and the report says so. A
file that is not DICOM, is damaged or belongs to a study filed under another patient gets a
per-file error and the rest carries on. ZIPs are opened through
imaging.archive (counted, capped, never written by member path).

An upload is processed in file order; every half second the counters and report are saved and
the chunks of the files indexed since are deleted, in one transaction, so a worker that dies
resumes where it stopped: a redelivered task finds only the files left, plus at most half a
second's worth already indexed, which it recognises by UID (reported as already there). One task per upload at a time
(a PostgreSQL advisory lock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from audit.services import audit_record
from docos.crypto import FileOwner
from docos.storage import FileUnavailable, delete_stored, read_verified, store_encrypted
from imaging import archive
from imaging.dicom import Header, NotDicom, parse_header, patient_mismatch
from imaging.models import Instance, Series, Study, Upload, UploadPart

logger = logging.getLogger(__name__)

ALREADY_THERE = "Already in the clinic's imaging (same SOP Instance UID)."
REPORT_MAX_ROWS = 2000  # the report keeps the first this many lines (plus the counts, always exact)
FLUSH_SECONDS = 0.5  # counters, the report and the chunks done are saved this often while processing
FLUSH_PARTS = 500  # ... or after this many chunks
PENDING_MAX = 50  # images inserted together (one statement instead of one round trip each)


class Outcome:
    STORED = "stored"
    DUPLICATE = "duplicate"
    ERROR = "error"
    SKIPPED = "skipped"
    WARNING = "warning"


@dataclass
class IngestState:
    """What one processing run remembers between files (look-ups it need not repeat)."""

    clinic: FileOwner
    upload: Upload
    studies: dict[str, Study] = field(default_factory=dict)
    series: dict[tuple[Any, str], Series] = field(default_factory=dict)
    touched: set[Any] = field(default_factory=set)
    warned_studies: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)  # SOP Instance UIDs met in this run
    pending: list[tuple[Instance, int]] = field(default_factory=list)  # images to insert, with their report line
    report: list[dict[str, str]] = field(default_factory=list)

    def note(self, name: str, outcome: str, reason: str = "") -> int:
        """One line of the upload's report (the counters are kept separately and are always exact);
        returns its position, or -1 past the report's length limit."""
        if len(self.report) >= REPORT_MAX_ROWS:
            return -1
        self.report.append({"file": name, "outcome": outcome, "reason": reason})
        return len(self.report) - 1


def zip_limits() -> archive.Limits:
    return archive.Limits(
        max_members=int(getattr(settings, "IMAGING_ZIP_MAX_MEMBERS", 10_000)),
        max_member_bytes=int(getattr(settings, "IMAGING_ZIP_MAX_MEMBER_BYTES", 512 * 1024 * 1024)),
        max_total_bytes=int(getattr(settings, "IMAGING_ZIP_MAX_TOTAL_BYTES", 4 * 1024 * 1024 * 1024)),
        max_ratio=int(getattr(settings, "IMAGING_ZIP_MAX_RATIO", 200)),
    )


def _study_for(state: IngestState, header: Header) -> Study:
    study = state.studies.get(header.study_instance_uid)
    if study is not None:
        return study
    upload = state.upload
    study = Study.objects.filter(study_instance_uid=header.study_instance_uid).first()
    if study is None:
        try:
            with transaction.atomic():
                study = Study.objects.create(
                    patient_id=upload.patient_id,
                    location_id=upload.location_id,
                    study_instance_uid=header.study_instance_uid,
                    study_date=header.study_date,
                    study_time=header.study_time,
                    description=header.study_description,
                    accession_number=header.accession_number,
                    referring_physician=header.referring_physician,
                    institution=header.institution,
                    created_by_id=upload.uploaded_by_id,
                )
                audit_record(
                    actor=upload.uploaded_by,
                    action="imaging.study.create",
                    obj=study,
                    location_id=upload.location_id,
                    metadata={"patient": str(upload.patient_id), "upload": str(upload.pk)},
                )
        except IntegrityError:
            study = Study.objects.get(study_instance_uid=header.study_instance_uid)
    if study.patient_id != upload.patient_id:
        raise NotDicom("This study is already filed under another patient of the clinic; it was not added here.")
    if study.status != Study.Status.RECEIVING:
        Study.objects.filter(pk=study.pk).update(status=Study.Status.RECEIVING)
        study.status = Study.Status.RECEIVING
    state.studies[header.study_instance_uid] = study
    upload.studies.add(study)
    return study


def _series_for(state: IngestState, study: Study, header: Header) -> Series:
    key = (study.pk, header.series_instance_uid)
    series = state.series.get(key)
    if series is None:
        series, _ = Series.objects.get_or_create(
            study=study,
            series_instance_uid=header.series_instance_uid,
            defaults={
                "number": header.series_number,
                "modality": header.modality,
                "body_part": header.body_part,
                "description": header.series_description,
            },
        )
        state.series[key] = series
    return series


def instance_ingest(state: IngestState, *, data: bytes, name: str) -> str:
    """Index one file of the upload; returns the outcome (stored, duplicate or error), noted in the report."""
    try:
        header = parse_header(data)
    except NotDicom as exc:
        state.note(name, Outcome.ERROR, str(exc))
        return Outcome.ERROR
    if header.sop_instance_uid in state.seen:
        state.note(name, Outcome.DUPLICATE, ALREADY_THERE)
        return Outcome.DUPLICATE
    state.seen.add(header.sop_instance_uid)
    try:
        study = _study_for(state, header)
    except NotDicom as exc:
        state.note(name, Outcome.ERROR, str(exc))
        return Outcome.ERROR
    if header.study_instance_uid not in state.warned_studies:
        patient = state.upload.patient
        warning = patient_mismatch(header, full_name=patient.full_name, mrn=patient.mrn)
        if warning:
            state.warned_studies.add(header.study_instance_uid)
            state.note(name, Outcome.WARNING, warning)
    series = _series_for(state, study, header)
    stored = store_encrypted(state.clinic, data=data, folder="imaging", suffix=".dcm", subject=state.upload.patient_id)
    spacing = header.pixel_spacing or (None, None)
    window = header.window or (None, None)
    instance = Instance(
        series=series,
        study=study,
        sop_instance_uid=header.sop_instance_uid,
        sop_class_uid=header.sop_class_uid,
        number=header.instance_number,
        frames=header.frames,
        rows=header.rows,
        columns=header.columns,
        photometric=header.photometric,
        transfer_syntax_uid=header.transfer_syntax_uid,
        pixel_spacing_row=spacing[0],
        pixel_spacing_col=spacing[1],
        window_center=window[0],
        window_width=window[1],
        slice_location=header.slice_location,
        storage_name=stored.name,
        sha256=stored.sha256,
        size=stored.size,
    )
    state.pending.append((instance, state.note(name, Outcome.STORED)))
    if len(state.pending) >= PENDING_MAX:
        flush_pending(state)
    return Outcome.STORED


def flush_pending(state: IngestState) -> int:
    """Insert the images waiting in `state` in one statement; returns how many turned out to be
    duplicates (a SOP Instance UID the clinic already held, or another upload stored a moment ago):
    their stored copies are deleted, their report lines and the upload's counters corrected."""
    pending, state.pending = state.pending, []
    if not pending:
        return 0
    Instance.objects.bulk_create([instance for instance, _ in pending], ignore_conflicts=True)
    uids = [instance.sop_instance_uid for instance, _ in pending]
    kept = dict(Instance.objects.filter(sop_instance_uid__in=uids).values_list("sop_instance_uid", "storage_name"))
    lost = 0
    for instance, line in pending:
        if kept.get(instance.sop_instance_uid) == instance.storage_name:
            state.touched.add(instance.study_id)
            continue
        lost += 1
        delete_stored(instance.storage_name)
        if 0 <= line < len(state.report):
            state.report[line] = {**state.report[line], "outcome": Outcome.DUPLICATE, "reason": ALREADY_THERE}
    if lost:
        state.upload.instances_stored = max(0, state.upload.instances_stored - lost)
        state.upload.duplicates += lost
    return lost


def study_refresh(study_id: Any, *, ready: bool) -> None:
    """Recount a study's series, images, bytes and modalities from its rows."""
    series = Series.objects.filter(study_id=study_id).annotate(n=Count("instances"))
    counts = Instance.objects.filter(study_id=study_id).aggregate(n=Count("id"), size=Sum("size"))
    for one in series:
        if one.instance_count != one.n:
            Series.objects.filter(pk=one.pk).update(instance_count=one.n)
    modalities = sorted({s.modality for s in series if s.modality and s.n})
    fields: dict[str, Any] = {
        "series_count": sum(1 for s in series if s.n),
        "instance_count": counts["n"] or 0,
        "total_bytes": counts["size"] or 0,
        "modalities": modalities,
        "updated_at": timezone.now(),
    }
    if ready:
        fields["status"] = Study.Status.READY
    Study.objects.filter(pk=study_id).update(**fields)


# --- processing an upload ---------------------------------------------------------------------------


def _assemble(clinic: FileOwner, parts: list[UploadPart]) -> IO[bytes]:
    """The file's chunks, decrypted and checked, joined in a spooled temporary file (memory, then disk)."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
    for part in parts:
        spool.write(read_verified(clinic, name=part.storage_name, sha256=part.sha256))
    spool.seek(0)
    return spool


def _complete_files(upload: Upload) -> dict[int, list[UploadPart]]:
    files: dict[int, list[UploadPart]] = {}
    for part in UploadPart.objects.filter(upload=upload).order_by("file_index", "chunk_index"):
        files.setdefault(part.file_index, []).append(part)
    return {
        index: parts
        for index, parts in files.items()
        if len(parts) == parts[0].chunk_count and [p.chunk_index for p in parts] == list(range(parts[0].chunk_count))
    }


def _bump(upload: Upload, outcome: str) -> None:
    if outcome == Outcome.STORED:
        upload.instances_stored += 1
    elif outcome == Outcome.DUPLICATE:
        upload.duplicates += 1
    elif outcome == Outcome.ERROR:
        upload.errors += 1
    elif outcome == Outcome.SKIPPED:
        upload.skipped += 1


def _flush(state: IngestState, *, ready: bool = False) -> None:
    upload = state.upload
    flush_pending(state)
    for study_id in state.touched:
        study_refresh(study_id, ready=ready)
    if ready:
        for study in state.studies.values():
            if study.pk not in state.touched:
                study_refresh(study.pk, ready=True)
    upload.report = list(state.report)
    upload.save(
        update_fields=["files_total", "files_done", "instances_stored", "duplicates", "errors", "skipped", "report"]
    )


def _process_file(state: IngestState, parts: list[UploadPart], deadline: list[float]) -> None:
    upload = state.upload
    name = parts[0].name or f"file {parts[0].file_index + 1}"
    with _assemble(state.clinic, parts) as source:
        head = source.read(8)
        source.seek(0)
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            members = archive.member_count(source)
            upload.files_total += max(members - 1, 0)
            if not members:
                state.note(name, Outcome.ERROR, "The ZIP is empty or cannot be read.")
                _bump(upload, Outcome.ERROR)
                upload.files_done += 1
                return
            try:
                seen = 0
                for member in archive.iter_members(source, zip_limits()):
                    seen += 1
                    label = f"{archive.display_name(name)} / {member.name}"
                    if member.data is None:
                        state.note(label, Outcome.SKIPPED, member.skipped)
                        _bump(upload, Outcome.SKIPPED)
                    else:
                        _bump(upload, instance_ingest(state, data=member.data, name=label))
                    upload.files_done += 1
                    if time.monotonic() > deadline[0]:
                        _flush(state)
                        deadline[0] = time.monotonic() + FLUSH_SECONDS
                upload.files_done += max(members - seen, 0)
            except archive.NotAZip as exc:
                state.note(name, Outcome.ERROR, str(exc))
                _bump(upload, Outcome.ERROR)
                upload.files_done += 1
            return
        data = source.read()
    if archive.is_archive(data, name):
        state.note(name, Outcome.SKIPPED, "Only ZIP archives are opened; unpack this archive or upload it as a ZIP.")
        _bump(upload, Outcome.SKIPPED)
    else:
        _bump(upload, instance_ingest(state, data=data, name=name))
    upload.files_done += 1


def _forget_parts(parts: list[UploadPart]) -> None:
    """Delete indexed files' chunks (rows now, stored objects once the transaction commits)."""
    if not parts:
        return
    names = [p.storage_name for p in parts]
    UploadPart.objects.filter(pk__in=[p.pk for p in parts]).delete()
    transaction.on_commit(lambda: _delete_all(names))


def _delete_all(names: list[str]) -> None:
    for name in names:
        try:
            delete_stored(name)
        except OSError:
            logger.warning("could not delete an imaging upload chunk; it is unreadable without its row")


def _run(clinic: FileOwner, upload: Upload) -> str:
    if upload.started_at is None:
        upload.started_at = timezone.now()
    upload.status = Upload.Status.PROCESSING
    upload.save(update_fields=["status", "started_at"])
    state = IngestState(clinic=clinic, upload=upload, report=list(upload.report or []))
    for study in upload.studies.all():
        state.studies[study.study_instance_uid] = study
    deadline = [time.monotonic() + FLUSH_SECONDS]
    done: list[UploadPart] = []  # chunks of files indexed since the last flush
    for _index, parts in sorted(_complete_files(upload).items()):
        try:
            _process_file(state, parts, deadline)
        except FileUnavailable as exc:
            state.note(parts[0].name or "file", Outcome.ERROR, str(exc))
            _bump(upload, Outcome.ERROR)
            upload.files_done += 1
        done.extend(parts)
        if time.monotonic() > deadline[0] or len(done) >= FLUSH_PARTS:
            with transaction.atomic():
                _flush(state)
                _forget_parts(done)
            done = []
            deadline[0] = time.monotonic() + FLUSH_SECONDS
    with transaction.atomic():
        _forget_parts(done)
        _flush(state, ready=True)
        upload.status = Upload.Status.DONE
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "finished_at"])
        audit_record(
            actor=upload.uploaded_by,
            action="imaging.upload.processed",
            obj=upload,
            location_id=upload.location_id,
            metadata={
                "patient": str(upload.patient_id),
                "stored": upload.instances_stored,
                "duplicates": upload.duplicates,
                "errors": upload.errors,
                "skipped": upload.skipped,
                "studies": len(state.studies),
            },
        )
    return str(upload.status)


def _lock_key(upload: Upload) -> str:
    return f"imaging-upload:{getattr(connection, 'schema_name', '')}:{upload.pk}"


def upload_process(*, clinic: FileOwner, upload_id: Any) -> str:
    """Process a submitted upload (called by the task). Returns the final status; resumable."""
    upload = Upload.objects.filter(pk=upload_id).select_related("patient", "uploaded_by", "location").first()
    if upload is None:
        return "missing"
    if upload.status not in (Upload.Status.QUEUED, Upload.Status.PROCESSING):
        return str(upload.status)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_lock_key(upload)])
        (locked,) = cursor.fetchone()
    if not locked:
        return "busy"
    try:
        return _run(clinic, upload)
    except (OperationalError, InterfaceError):
        raise  # transient: the task retries and resumes with the files left
    except Exception:
        logger.exception("imaging upload failed", extra={"upload_id": str(upload.pk)})
        Upload.objects.filter(pk=upload.pk).update(
            status=Upload.Status.FAILED,
            finished_at=timezone.now(),
            failure="Processing stopped on an unexpected error; the files indexed so far are kept.",
        )
        raise
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_lock_key(upload)])
        except DatabaseError:
            logger.warning("could not release the imaging upload lock; it ends with the connection")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the sweeper (every few minutes, per clinic) ---------------------------------------------------------


def _abandon(upload: Upload) -> None:
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        if upload.status != Upload.Status.RECEIVING:
            return
        _forget_parts(list(upload.parts.all()))
        upload.status = Upload.Status.CANCELLED
        upload.finished_at = timezone.now()
        upload.failure = "Not every file was sent within a day, so the upload was abandoned; upload the files again."
        upload.save(update_fields=["status", "finished_at", "failure"])
        audit_record(
            actor=None,
            action="imaging.upload.abandon",
            obj=upload,
            location_id=upload.location_id,
            metadata={"patient": str(upload.patient_id), "bytes": upload.bytes_received},
        )


def upload_sweep() -> dict[str, int]:
    """Uploads whose enqueue was lost (queued a while ago, or processing long after it started: the
    lock makes a second run return at once) are queued again; uploads left receiving for longer than
    IMAGING_UPLOAD_ABANDON_HOURS are abandoned and their chunks deleted."""
    from imaging.tasks import ingest_upload_task

    now = timezone.now()
    requeue_after = dt.timedelta(seconds=int(getattr(settings, "IMAGING_REQUEUE_SECONDS", 300)))
    abandon_after = dt.timedelta(hours=int(getattr(settings, "IMAGING_UPLOAD_ABANDON_HOURS", 24)))
    stuck = Upload.objects.filter(
        Q(status=Upload.Status.QUEUED, submitted_at__lt=now - requeue_after)
        | Q(status=Upload.Status.PROCESSING, started_at__lt=now - 6 * requeue_after)
    )
    requeued = 0
    for upload_id in stuck.values_list("pk", flat=True):
        ingest_upload_task.delay(str(upload_id))
        requeued += 1
    abandoned = 0
    for upload in Upload.objects.filter(status=Upload.Status.RECEIVING, created_at__lt=now - abandon_after):
        _abandon(upload)
        abandoned += 1
    return {"requeued": requeued, "abandoned": abandoned}
