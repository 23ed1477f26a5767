"""Helpers for the imaging tests: DICOM files shipped with pydicom, synthesised ones, ZIPs, uploads."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import numpy as np
import pydicom
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from documents.signing import current_clinic
from imaging import ingest, services
from imaging.models import Upload

TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")


def shipped(name: str) -> bytes:
    """A DICOM file that ships inside the pydicom package (never downloaded)."""
    with open(os.path.join(TEST_FILES, name), "rb") as handle:
        return handle.read()


def to_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def variant(name: str, **changes: Any) -> bytes:
    """A shipped file with new UIDs (a different instance) and any attributes changed."""
    ds = pydicom.dcmread(os.path.join(TEST_FILES, name))
    ds.SOPInstanceUID = changes.pop("SOPInstanceUID", generate_uid())
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for key, value in changes.items():
        setattr(ds, key, value)
    return to_bytes(ds)


def synthetic_ct(
    *,
    rows: int = 512,
    columns: int = 512,
    study_uid: str | None = None,
    series_uid: str | None = None,
    number: int = 1,
    pixels: np.ndarray | None = None,
    photometric: str = "MONOCHROME2",
    slope: float = 1.0,
    intercept: float = -1024.0,
    patient_name: str = "",
    patient_id: str = "",
    window: tuple[float, float] | None = (40.0, 400.0),
    **extra: Any,
) -> bytes:
    """A CT image written from scratch (uncompressed, 16-bit)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = "CT"
    ds.StudyDate = "20261120"
    ds.StudyTime = "101500"
    ds.StudyDescription = "CT CHEST PLAIN"
    ds.SeriesDescription = "Axial 5mm"
    ds.AccessionNumber = "ACC1001"
    ds.ReferringPhysicianName = "Rao^Vikram"
    ds.BodyPartExamined = "CHEST"
    ds.SeriesNumber = 2
    ds.InstanceNumber = number
    ds.SliceLocation = float(number) * 5
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [0.7, 0.7]
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    for key, value in extra.items():
        setattr(ds, key, value)
    if pixels is None:
        y, x = np.mgrid[0:rows, 0:columns]
        pixels = ((np.hypot(x - columns / 2, y - rows / 2) < rows / 3) * 1000 + 24 + (x % 64)).astype(np.uint16)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return to_bytes(ds)


def zip_of(members: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def zip_with_symlink(target: str = "/etc/passwd") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("link.dcm")
        info.external_attr = (0o120777 << 16) | 0
        info.create_system = 3
        archive.writestr(info, target)
        archive.writestr("real.dcm", shipped("CT_small.dcm"))
    return out.getvalue()


def upload_files(
    seeded: Any, patient: Any, files: list[tuple[str, bytes]], *, role: str = "doctor", chunk: int | None = None
) -> Upload:
    """Start, send (in chunks) and submit an upload through the services, then process it as the task would."""
    from tests.clinical.clinical_helpers import staff

    actor = staff(seeded, role)
    with tenant_context(seeded.clinic):
        upload = services.upload_start(patient=patient, actor=actor, files_expected=len(files))
        for index, (name, data) in enumerate(files):
            size = chunk or max(len(data), 1)
            pieces = [data[i : i + size] for i in range(0, len(data), size)] or [data]
            for number, piece in enumerate(pieces):
                services.upload_chunk_receive(
                    upload=upload,
                    actor=actor,
                    file_index=index,
                    chunk_index=number,
                    chunk_count=len(pieces),
                    name=name,
                    data=piece,
                )
        services.upload_submit(upload=upload, actor=actor)
        ingest.upload_process(clinic=current_clinic(), upload_id=upload.pk)
        upload.refresh_from_db()
    return upload


def chunk_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def outcomes(upload: Upload) -> list[tuple[str, str]]:
    return [(row["file"], row["outcome"]) for row in upload.report]
