"""DICOM ingest throughput per worker, and the first-frame render time of a 512x512 CT.

    python -m benchmarks.dicom_ingest [FILES]

In its own database (docos_bench_<pid>, created and dropped; benchmarks._support): one clinic
(clinic_create), one patient, the clinic's files in a temporary folder (the dev storage backend,
FileSystemStorage). FILES (default 1000) distinct CT images are made beforehand from pydicom's
CT_small.dcm (new SOP Instance UIDs; 10 studies of 100), then, in one process (one worker):

1. raw: `pydicom.dcmread` of every file from memory (the floor: parsing alone);
2. ingest: `imaging.ingest.instance_ingest` of every file, as the `imaging` task does it: read the
   header (stop_before_pixels), encrypt with the clinic's key, store, file under study and series
   (images inserted 50 at a time, duplicates by SOP Instance UID found by the insert);
3. upload: the same number of new files through the whole upload path (chunks stored encrypted by
   `upload_chunk_receive`, then `upload_process`: decrypt, join, ingest, recount, report), timing
   only the processing (what the worker does).

Then a synthesised 512x512 16-bit CT is stored and its first frame rendered to PNG with cold
caches (decrypt + parse + rescale + window + PNG; the encrypted Redis entry and the in-process
source cache cleared each run) and warm (served from the encrypted cache).

Target: ingest >= 200 files/s per worker, judged on the median rate of blocks of 100 files (after
a warm-up of 50), which other processes on a shared machine disturb less than the overall mean;
both are printed. Exits with status 1 when the target is missed.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time

from benchmarks._support import bench_database, positive_int, say

TARGET_FILES_PER_SECOND = 200
RENDER_RUNS = 20
WARM_UP = 50
BLOCK = 100


def _files(count: int) -> list[bytes]:
    import pydicom
    from pydicom.uid import UID, generate_uid

    path = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm")
    studies = [generate_uid() for _ in range(max(1, count // 100))]
    series = [generate_uid() for _ in studies]
    out = []
    for i in range(count):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = studies[i % len(studies)]
        ds.SeriesInstanceUID = series[i % len(studies)]
        ds.SOPInstanceUID = UID(generate_uid())
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i // len(studies) + 1
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out


def _ct_512() -> bytes:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.Rows, ds.Columns = "CT", 512, 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelSpacing = [0.7, 0.7]
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:512, 0:512]
    body = (np.hypot(x - 256, (y - 256) * 1.3) < 220) * 1064
    lungs = (np.hypot(np.abs(x - 256) - 100, y - 240) < 80) * -800
    ds.PixelData = np.clip(body + lungs + rng.normal(0, 20, (512, 512)), 0, 4095).astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    count = positive_int(argv, 0, 1000) or 1000
    with bench_database("dicom_ingest"), tempfile.TemporaryDirectory(prefix="docos-bench-files-") as folder:
        import pydicom
        from django.core.cache import cache
        from django.core.files.storage import FileSystemStorage, storages
        from django_tenants.utils import tenant_context

        from accounts.models import Location, User
        from clinics.services import clinic_create
        from imaging import ingest, services
        from imaging.models import Instance, Upload
        from imaging.render import Window
        from patients.models import Patient

        storages._storages["clinic_files"] = FileSystemStorage(location=folder)
        clinic = clinic_create(
            slug="dicom", name="DICOM Bench Clinic", owner_email="owner@dicom.example.in", owner_password=None
        ).clinic
        say(f"[dicom_ingest] making {count} + {count} CT files ({len(_files(1)[0]) // 1024} KB each)...")
        first, second = _files(count), _files(count)
        with tenant_context(clinic):
            owner = User.objects.get(email="owner@dicom.example.in")
            location = Location.objects.order_by("name").first()
            patient = Patient.objects.create(
                mrn="B-1", given_name="Bench", family_name="Patient", sex="M", registered_location=location
            )

            started = time.perf_counter()
            for data in first:
                pydicom.dcmread(io.BytesIO(data))
            raw_seconds = time.perf_counter() - started

            upload = services.upload_start(patient=patient, actor=owner, files_expected=1)
            state = ingest.IngestState(clinic=clinic, upload=upload)
            for i, data in enumerate(_files(WARM_UP)):  # imports, caches, the first study and series
                ingest.instance_ingest(state, data=data, name=f"warm-{i}.dcm")
            ingest.flush_pending(state)
            blocks: list[float] = []
            outcomes = []
            started = time.perf_counter()
            for start in range(0, count, BLOCK):
                block_started = time.perf_counter()
                for i, data in enumerate(first[start : start + BLOCK], start):
                    outcomes.append(ingest.instance_ingest(state, data=data, name=f"{i}.dcm"))
                ingest.flush_pending(state)
                blocks.append(len(first[start : start + BLOCK]) / (time.perf_counter() - block_started))
            ingest_seconds = time.perf_counter() - started
            stored = outcomes.count(ingest.Outcome.STORED)

            whole = services.upload_start(patient=patient, actor=owner, files_expected=count)
            for i, data in enumerate(second):
                services.upload_chunk_receive(
                    upload=whole, actor=owner, file_index=i, chunk_index=0, chunk_count=1, name=f"{i}.dcm", data=data
                )
            services.upload_submit(upload=whole, actor=owner, enqueue=False)
            started = time.perf_counter()
            ingest.upload_process(clinic=clinic, upload_id=whole.pk)
            upload_seconds = time.perf_counter() - started
            whole = Upload.objects.get(pk=whole.pk)

            ct = services.upload_start(patient=patient, actor=owner, files_expected=1)
            services.upload_chunk_receive(
                upload=ct, actor=owner, file_index=0, chunk_index=0, chunk_count=1, name="ct512.dcm", data=_ct_512()
            )
            services.upload_submit(upload=ct, actor=owner, enqueue=False)
            ingest.upload_process(clinic=clinic, upload_id=ct.pk)
            instance = Instance.objects.select_related("study").get(rows=512)
            window = Window(40, 400)
            cold, warm = [], []
            for _ in range(RENDER_RUNS):
                cache.delete(services.frame_cache_key(instance, 0, window, None))
                services.forget_sources()
                started = time.perf_counter()
                png = services.frame_png(instance=instance, actor=owner, frame=0, window=window)
                cold.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                services.frame_png(instance=instance, actor=owner, frame=0, window=window)
                warm.append((time.perf_counter() - started) * 1000)

        raw_rate, ingest_rate, upload_rate = count / raw_seconds, count / ingest_seconds, count / upload_seconds
        block_rate = statistics.median(blocks)
        say(f"[dicom_ingest] raw pydicom dcmread: {raw_rate:,.0f} files/s ({raw_seconds * 1000 / count:.2f} ms/file)")
        say(
            f"[dicom_ingest] parse + encrypt + store + index: {ingest_rate:,.0f} files/s per worker overall "
            f"({ingest_seconds * 1000 / count:.2f} ms/file; {stored} stored) = {raw_rate / ingest_rate:.1f}x raw; "
            f"median of blocks of {BLOCK}: {block_rate:,.0f} files/s "
            f"(best {max(blocks):,.0f}, worst {min(blocks):,.0f})"
        )
        say(
            f"[dicom_ingest] whole upload processing (decrypt chunks, join, ingest, recount, report): "
            f"{upload_rate:,.0f} files/s ({whole.instances_stored} stored, {whole.errors} errors)"
        )
        say(
            f"[dicom_ingest] first-frame render 512x512 CT: cold median {statistics.median(cold):.1f} ms "
            f"(min {min(cold):.1f}, max {max(cold):.1f}), cached median {statistics.median(warm):.2f} ms, "
            f"PNG {len(png) // 1024} KB (n={RENDER_RUNS})"
        )
        ok = block_rate >= TARGET_FILES_PER_SECOND and stored == count and whole.instances_stored == count
        say(f"[dicom_ingest] target >= {TARGET_FILES_PER_SECOND} files/s per worker: {'met' if ok else 'NOT met'}")
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
