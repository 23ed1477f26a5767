"""Demo imaging for the demo clinic: a CT thorax series and an obstetric ultrasound.

`seed(clinic)` runs inside the demo clinic's creation (clinics/demo.py, after the patients). The
images are pydicom's own test files (a 128x128 CT slice and a 512x512 JPEG 2000 CT; a 30-frame
JPEG ultrasound clip and a colour still), given their own UIDs and the demo patients' names, then
uploaded and indexed through the same services as a real upload (encrypted originals, audit
events, the upload report). Deterministic UIDs, so seeding twice adds nothing.
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

import numpy as np
import pydicom
from django_tenants.utils import tenant_context
from pydicom.dataset import Dataset
from pydicom.uid import UID, generate_uid

from accounts.models import User
from clinics.models import Clinic
from documents.signing import current_clinic
from imaging import ingest, services
from imaging.models import Study
from patients.models import Patient

logger = logging.getLogger(__name__)
TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
CT_SLICES = 12


def _uid(*parts: str) -> str:
    return generate_uid(entropy_srcs=["docos-demo-imaging", *parts])


def _dicom_name(patient: Patient) -> str:
    return f"{patient.family_name.upper()}^{patient.given_name.upper()}"


def _save(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _common(ds: Dataset, patient: Patient, *, study: str, series: str, instance: str, **fields: Any) -> None:
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = instance
    ds.file_meta.MediaStorageSOPInstanceUID = UID(instance)
    ds.PatientName = _dicom_name(patient)
    ds.PatientID = patient.mrn
    ds.PatientSex = patient.sex if patient.sex in ("M", "F") else "O"
    for key, value in fields.items():
        setattr(ds, key, value)


def ct_files(patient: Patient) -> list[tuple[str, bytes]]:
    """A CT thorax: a 12-slice axial series (from CT_small.dcm) and a 512x512 slice (JPEG 2000)."""
    study = _uid(patient.mrn, "ct")
    axial = _uid(patient.mrn, "ct", "axial")
    files = []
    base = pydicom.dcmread(os.path.join(TEST_FILES, "CT_small.dcm"))
    pixels = base.pixel_array
    for n in range(1, CT_SLICES + 1):
        ds = pydicom.dcmread(os.path.join(TEST_FILES, "CT_small.dcm"))
        shifted = np.roll(pixels, (n - CT_SLICES // 2) * 3, axis=0).astype(pixels.dtype)
        ds.PixelData = shifted.tobytes()
        _common(
            ds, patient, study=study, series=axial, instance=_uid(patient.mrn, "ct", "axial", str(n)),
            StudyDate="20261118", StudyTime="113000", StudyDescription="CT THORAX PLAIN",
            SeriesDescription="Axial 5 mm", SeriesNumber=2, InstanceNumber=n, SliceLocation=-150.0 + 5 * n,
            AccessionNumber="MDK2611180042", ReferringPhysicianName="Rao^Vikram",
            InstitutionName="Manipal Diagnostics, Koramangala", BodyPartExamined="CHEST",
            WindowCenter=40, WindowWidth=400,
        )  # fmt: skip
        files.append((f"CT/IM{n:04d}", _save(ds)))
    ds = pydicom.dcmread(os.path.join(TEST_FILES, "693_J2KI.dcm"))
    _common(
        ds, patient, study=study, series=_uid(patient.mrn, "ct", "hr"), instance=_uid(patient.mrn, "ct", "hr", "1"),
        StudyDate="20261118", StudyTime="113000", StudyDescription="CT THORAX PLAIN",
        SeriesDescription="High resolution 1 mm", SeriesNumber=3, InstanceNumber=1, Modality="CT",
        AccessionNumber="MDK2611180042", ReferringPhysicianName="Rao^Vikram",
        InstitutionName="Manipal Diagnostics, Koramangala", BodyPartExamined="CHEST",
    )  # fmt: skip
    files.append(("CT/HR0001", _save(ds)))
    return files


def us_files(patient: Patient) -> list[tuple[str, bytes]]:
    """An obstetric ultrasound: a 30-frame cine clip (JPEG) and a colour still."""
    study = _uid(patient.mrn, "us")
    common = {
        "StudyDate": "20261202",
        "StudyTime": "094500",
        "StudyDescription": "USG OBSTETRIC (GROWTH SCAN)",
        "AccessionNumber": "SFC2612020007",
        "ReferringPhysicianName": "Iyer^Ananya",
        "InstitutionName": "Sunrise Family Clinic, Koramangala",
        "Modality": "US",
    }
    files = []
    ds = pydicom.dcmread(os.path.join(TEST_FILES, "examples_ybr_color.dcm"))
    _common(
        ds, patient, study=study, series=_uid(patient.mrn, "us", "cine"), instance=_uid(patient.mrn, "us", "cine", "1"),
        SeriesDescription="Cine loop", SeriesNumber=1, InstanceNumber=1, **common,
    )  # fmt: skip
    files.append(("US/CINE0001", _save(ds)))
    ds = pydicom.dcmread(os.path.join(TEST_FILES, "examples_rgb_color.dcm"))
    _common(
        ds, patient, study=study, series=_uid(patient.mrn, "us", "still"),
        instance=_uid(patient.mrn, "us", "still", "1"), SeriesDescription="Stills", SeriesNumber=2, InstanceNumber=1,
        **common,
    )  # fmt: skip
    files.append(("US/STILL0001", _save(ds)))
    return files


def _ingest(patient: Patient, actor: User, files: list[tuple[str, bytes]]) -> None:
    upload = services.upload_start(patient=patient, actor=actor, files_expected=len(files))
    for index, (name, data) in enumerate(files):
        services.upload_chunk_receive(
            upload=upload, actor=actor, file_index=index, chunk_index=0, chunk_count=1, name=name, data=data
        )
    services.upload_submit(upload=upload, actor=actor, enqueue=False)
    ingest.upload_process(clinic=current_clinic(), upload_id=upload.pk)


def seed(clinic: Clinic) -> dict[str, int]:
    with tenant_context(clinic):
        if Study.objects.exists():
            return {}
        doctor = User.objects.filter(role__slug="doctor", is_active=True).order_by("email").first()
        ct_patient = Patient.objects.filter(given_name="Joseph", family_name="Varghese", is_active=True).first()
        us_patient = Patient.objects.filter(given_name="Poonam", family_name="Sharma", is_active=True).first()
        if doctor is None or ct_patient is None or us_patient is None:
            logger.warning("imaging demo: the demo doctor or patients are missing; nothing seeded")
            return {}
        _ingest(ct_patient, doctor, ct_files(ct_patient))
        _ingest(us_patient, doctor, us_files(us_patient))
        from imaging.share_demo import seed_share  # the CT shared by a live link (imaging/share_demo.py)

        seed_share(doctor=doctor)
        return {"studies": Study.objects.count()}
