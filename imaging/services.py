"""Imaging writes and reads that do work: starting an upload, receiving its chunks, submitting it
for processing, and reading an image back (rendered frames, header metadata).

Upload protocol (static/js/imaging_upload.js speaks it): `upload_start` names the patient, the
location and how many files follow -> `upload_chunk_receive` takes each file in chunks
(`file_index`, `chunk_index` of `chunk_count`), stored encrypted as they arrive, so an interrupted
upload resumes by asking which chunks arrived (`upload_received`) -> `upload_submit` queues the
ingest task (imaging.tasks) -> the page polls the upload's progress.

Rendered frames are cached in the Django cache (Redis), encrypted with the clinic's key (the cache
holds no plaintext pixels), keyed by image, frame, window and size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.guards import location_problem, require_capability
from accounts.models import Location, User
from accounts.selectors import locations_for
from audit.context import AuditContext
from audit.services import audit_record
from docos import crypto
from docos.storage import store_encrypted
from documents.signing import current_clinic
from imaging.dicom import read_dataset
from imaging.models import Instance, Upload, UploadPart
from imaging.render import RenderError, Window, render_dataset
from patients.access import patient_check_writable
from patients.files import stored_file_read
from patients.models import Patient

NAME_MAX = 300


def chunk_max_bytes() -> int:
    return int(getattr(settings, "IMAGING_CHUNK_MAX_BYTES", 8 * 1024 * 1024))


def file_max_bytes() -> int:
    return int(getattr(settings, "IMAGING_FILE_MAX_BYTES", 2 * 1024 * 1024 * 1024))


def files_max() -> int:
    return int(getattr(settings, "IMAGING_UPLOAD_MAX_FILES", 5000))


def default_location(actor: User, patient: Patient) -> Location | None:
    mine = locations_for(actor)
    return mine.filter(pk=patient.registered_location_id).first() or mine.first()


@transaction.atomic
def upload_start(
    *,
    patient: Patient,
    actor: User,
    files_expected: int,
    location: Location | None = None,
    context: AuditContext | None = None,
) -> Upload:
    """Open an upload of `files_expected` files (or ZIPs) for `patient`. ValidationError per field."""
    require_capability(actor, "imaging.upload", "upload imaging")
    patient_check_writable(actor=actor, patient=patient)
    location = location or default_location(actor, patient)
    errors: dict[str, str] = {}
    problem = location_problem(actor, location)
    if problem:
        errors["location"] = problem
    if files_expected < 1:
        errors["files"] = "Choose at least one DICOM file, a folder or a ZIP."
    elif files_expected > files_max():
        errors["files"] = f"Upload at most {files_max()} files at a time (or put them in a ZIP)."
    if errors:
        raise ValidationError(errors)
    assert location is not None
    upload = Upload.objects.create(patient=patient, location=location, uploaded_by=actor, files_expected=files_expected)
    audit_record(
        actor=actor,
        action="imaging.upload.start",
        obj=upload,
        location_id=location.pk,
        context=context,
        metadata={"patient": str(patient.pk), "files": files_expected},
    )
    return upload


def _require_own_receiving(upload: Upload, actor: User) -> None:
    require_capability(actor, "imaging.upload", "upload imaging")
    if upload.uploaded_by_id != actor.pk:
        raise ValidationError({"upload": "Only the person who started this upload can add files to it."})
    if upload.status != Upload.Status.RECEIVING:
        raise ValidationError({"upload": "This upload was already submitted; start a new one to add files."})


def upload_chunk_receive(
    *,
    upload: Upload,
    actor: User,
    file_index: int,
    chunk_index: int,
    chunk_count: int,
    name: str,
    data: bytes,
) -> UploadPart:
    """Store one chunk (encrypted). Sending a chunk again replaces it (a retried request)."""
    _require_own_receiving(upload, actor)
    errors: dict[str, str] = {}
    if not 0 <= file_index < upload.files_expected:
        errors["file_index"] = f"This upload announced {upload.files_expected} file(s)."
    if chunk_count < 1 or not 0 <= chunk_index < chunk_count:
        errors["chunk_index"] = "The chunk number is outside the file."
    elif chunk_count * chunk_max_bytes() > file_max_bytes() + chunk_max_bytes():
        errors["chunk_count"] = f"A file may be at most {file_max_bytes() // (1024 * 1024)} MB."
    if not data:
        errors["chunk"] = "The chunk was empty."
    elif len(data) > chunk_max_bytes():
        errors["chunk"] = f"A chunk may be at most {chunk_max_bytes() // (1024 * 1024)} MB."
    if errors:
        raise ValidationError(errors)
    clean_name = " ".join(str(name or "").replace("\x00", "").split())[:NAME_MAX]
    stored = store_encrypted(
        current_clinic(), data=data, folder="imaging-upload", suffix=".part", subject=upload.patient_id
    )
    with transaction.atomic():
        old = (
            UploadPart.objects.select_for_update()
            .filter(upload=upload, file_index=file_index, chunk_index=chunk_index)
            .first()
        )
        if old is not None:
            old_name = old.storage_name
            Upload.objects.filter(pk=upload.pk).update(bytes_received=F("bytes_received") - old.size)
            old.delete()
            transaction.on_commit(lambda: _delete_quietly(old_name))
        part = UploadPart.objects.create(
            upload=upload,
            file_index=file_index,
            chunk_index=chunk_index,
            chunk_count=chunk_count,
            name=clean_name,
            storage_name=stored.name,
            sha256=stored.sha256,
            size=stored.size,
        )
        Upload.objects.filter(pk=upload.pk).update(bytes_received=F("bytes_received") + stored.size)
    return part


def _delete_quietly(name: str) -> None:
    from docos.storage import delete_stored

    try:
        delete_stored(name)
    except OSError:
        pass


def upload_received(upload: Upload) -> list[list[int]]:
    """[file_index, chunk_index] of every chunk already stored (to resume an interrupted upload)."""
    return [
        list(pair)
        for pair in upload.parts.order_by("file_index", "chunk_index").values_list("file_index", "chunk_index")
    ]


@transaction.atomic
def upload_submit(*, upload: Upload, actor: User, context: AuditContext | None = None, enqueue: bool = True) -> Upload:
    """Queue the received files for processing. Files whose chunks did not all arrive are reported.

    `enqueue=False` (the demo seed) leaves running `ingest.upload_process` to the caller."""
    upload = Upload.objects.select_for_update().get(pk=upload.pk)
    _require_own_receiving(upload, actor)
    files: dict[int, tuple[int, int]] = {}
    for file_index, chunk_count in upload.parts.values_list("file_index", "chunk_count"):
        got, _ = files.get(file_index, (0, chunk_count))
        files[file_index] = (got + 1, chunk_count)
    complete = sum(1 for got, count in files.values() if got == count)
    if not complete:
        raise ValidationError({"upload": "No file arrived completely; choose the files again."})
    missing = upload.files_expected - complete
    report = list(upload.report or [])
    if missing:
        report.append(
            {
                "file": f"{missing} file(s)",
                "outcome": "error",
                "reason": "Did not arrive completely; upload them again.",
            }
        )
    upload.report = report
    upload.files_total = complete
    upload.errors = missing
    upload.status = Upload.Status.QUEUED
    upload.submitted_at = timezone.now()
    upload.save(update_fields=["report", "files_total", "errors", "status", "submitted_at"])
    audit_record(
        actor=actor,
        action="imaging.upload.submit",
        obj=upload,
        location_id=upload.location_id,
        context=context,
        metadata={"patient": str(upload.patient_id), "files": complete, "incomplete": missing},
    )
    if enqueue:
        from imaging.tasks import ingest_upload_task

        upload_id = str(upload.pk)
        transaction.on_commit(lambda: ingest_upload_task.delay(upload_id))
    return upload


# --- reading images back -------------------------------------------------------------------------------

_SOURCE_CACHE_BYTES = 96 * 1024 * 1024
_sources: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_sources_lock = threading.Lock()


def instance_bytes(*, instance: Instance, actor: User | None, context: AuditContext | None = None) -> bytes:
    """The original DICOM file, decrypted and checked against its SHA-256 (FileUnavailable otherwise).

    A few recently read files stay in this process's memory (never on disk, never in Redis), so
    scrolling through a multi-frame image does not decrypt it again for every frame."""
    clinic = current_clinic()
    key = (clinic.schema_name, instance.sha256 + str(instance.pk))
    with _sources_lock:
        cached = _sources.get(key)
        if cached is not None:
            _sources.move_to_end(key)
            return cached
    data = stored_file_read(
        clinic=clinic,
        name=instance.storage_name,
        sha256=instance.sha256,
        obj=instance,
        location_id=instance.study.location_id,
        actor=actor,
        context=context,
    )
    with _sources_lock:
        _sources[key] = data
        while sum(len(v) for v in _sources.values()) > _SOURCE_CACHE_BYTES and len(_sources) > 1:
            _sources.popitem(last=False)
    return data


def forget_sources() -> None:
    with _sources_lock:
        _sources.clear()


def parse_window(center: Any, width: Any) -> Window | None:
    """A window from query parameters, or None when not given or not sensible."""
    try:
        c, w = float(center), float(width)
    except (TypeError, ValueError):
        return None
    if not (-100_000 < c < 100_000 and 1 <= w < 200_000):
        return None
    return Window(center=round(c, 1), width=round(w, 1))


def frame_cache_key(instance: Instance, frame: int, window: Window | None, max_px: int | None) -> str:
    clinic = current_clinic()
    win = f"{window.center}:{window.width}" if window else "default"
    raw = f"{clinic.schema_name}:{instance.pk}:{instance.sha256}:{frame}:{win}:{max_px or 0}"
    return "imaging:frame:" + hashlib.sha256(raw.encode()).hexdigest()


def frame_png(
    *,
    instance: Instance,
    actor: User,
    frame: int,
    window: Window | None = None,
    max_px: int | None = None,
    context: AuditContext | None = None,
) -> bytes:
    """One frame as PNG (RenderError when it cannot be drawn). Cached, encrypted, per window and size."""
    require_capability(actor, "imaging.view", "view imaging")
    return cached_frame_png(
        instance=instance,
        frame=frame,
        window=window,
        max_px=max_px,
        load=lambda: instance_bytes(instance=instance, actor=actor, context=context),
    )


def cached_frame_png(
    *, instance: Instance, frame: int, window: Window | None, max_px: int | None, load: Callable[[], bytes]
) -> bytes:
    """A frame from the encrypted frame cache, or rendered from the file `load` reads (the staff
    viewer and share links read it under their own rules) and cached for IMAGING_FRAME_CACHE_SECONDS."""
    if not 0 <= frame < max(instance.frames, 1):
        raise RenderError("No such frame in this image.")
    clinic = current_clinic()
    key = frame_cache_key(instance, frame, window, max_px)
    blob = cache.get(key)
    if isinstance(blob, bytes):
        try:
            return crypto.decrypt_file(clinic, blob, key)
        except crypto.CryptoError:
            cache.delete(key)
    try:
        ds = read_dataset(load(), stop_before_pixels=False)
    except Exception as exc:
        raise RenderError("The file could not be read as DICOM.") from exc
    png = render_dataset(ds, frame=frame, window=window, max_px=max_px)
    # under the patient's own key, like the original: erasing them makes cached frames unreadable too
    sealed = crypto.encrypt_file(clinic, png, key, subject=instance.study.patient_id)
    cache.set(key, sealed, timeout=int(getattr(settings, "IMAGING_FRAME_CACHE_SECONDS", 86400)))
    return png


METADATA_VALUE_MAX = 160
_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def instance_metadata(*, instance: Instance, actor: User, context: AuditContext | None = None) -> list[dict[str, str]]:
    """The file's header as rows (tag, name, value) for the viewer's metadata panel; binary values and
    the pixels are left out, sequences shown by their item count."""
    require_capability(actor, "imaging.view", "view imaging")
    ds = read_dataset(instance_bytes(instance=instance, actor=actor, context=context), stop_before_pixels=True)
    rows: list[dict[str, str]] = []
    meta = getattr(ds, "file_meta", None)
    elements = list(meta) if meta is not None else []
    elements += list(ds)
    for element in elements:
        if element.tag.is_private or element.keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
            continue
        if element.VR == "SQ":
            value = f"{len(element.value)} item(s)"
        elif element.VR in _BINARY_VRS:
            value = f"({element.VR}, {len(element.value or b'')} bytes)"
        else:
            value = str(element.value)
        if len(value) > METADATA_VALUE_MAX:
            value = value[: METADATA_VALUE_MAX - 1] + "…"
        rows.append(
            {"tag": f"({element.tag.group:04X},{element.tag.element:04X})", "name": element.name, "value": value}
        )
    return rows
