"""Building the archive that answers an access or portability request (run by a Celery task).

The ZIP holds: `summary.pdf` (a readable summary, rendered by docos.pdf), `records.json` (every
record every registered source holds, by source and section), `fhir-bundle.json` (a FHIR R4
document Bundle validated with fhir.resources' R4B models), and `files/...` (every stored file,
decrypted and checked against its recorded hash; a file that cannot be read is listed in
`files/MISSING.txt` instead). The archive is stored encrypted with the clinic's data key and may
be downloaded until `expires_at`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from docos.pdf import letterhead_for, render_pdf
from docos.storage import FileUnavailable, read_verified, store_encrypted
from patients import registry
from privacy.fhir import patient_bundle
from privacy.models import PatientExport
from privacy.services import export_link_days

logger = logging.getLogger(__name__)


def _progress(export: PatientExport, percent: int, step: str) -> None:
    PatientExport.objects.filter(pk=export.pk).update(progress=percent, step=step)


def _summary_pdf(patient: Any, records: dict[str, registry.Records], counts: dict[str, int], clinic: Any) -> bytes:
    sections = [
        {
            "label": source.label,
            "sections": [
                (name.replace("_", " ").capitalize(), len(rows)) for name, rows in records[source.key].items()
            ],
        }
        for source in registry.data_sources()
        if source.key in records
    ]
    clinical = records.get("clinical", {})
    return render_pdf(
        "pdf/privacy_export.html",
        {
            "patient": patient,
            "generated": timezone.localtime().strftime("%d %b %Y, %H:%M"),
            "sections": sections,
            "visits": clinical.get("visits", [])[-20:],
            "prescriptions": clinical.get("prescriptions", [])[-20:],
            "allergies": clinical.get("allergies", []),
            "file_count": counts["files"],
        },
        letterhead=letterhead_for(clinic),
    )


def export_build(*, export_id: str) -> str:
    """Build (or rebuild after a crash) the export. Idempotent: a finished export returns at once."""
    export = PatientExport.objects.select_related("request__patient").filter(pk=export_id).first()
    if export is None or export.status in (PatientExport.Status.READY, PatientExport.Status.FAILED):
        return "done"
    patient = export.request.patient
    if patient is None:
        PatientExport.objects.filter(pk=export.pk).update(
            status=PatientExport.Status.FAILED, error="The patient's record no longer exists."
        )
        return "failed"
    clinic: Any = getattr(connection, "tenant", None)
    PatientExport.objects.filter(pk=export.pk).update(
        status=PatientExport.Status.RUNNING, progress=1, step="Collecting records"
    )
    try:
        records = {source.key: source.export(patient) for source in registry.data_sources()}
        _progress(export, 20, "Building the FHIR bundle")
        bundle = patient_bundle(patient, clinic_name=getattr(clinic, "name", "Clinic"))
        files = [f for source in registry.data_sources() for f in source.files(patient)]
        buffer = io.BytesIO()
        missing: list[str] = []
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("records.json", json.dumps(registry.jsonable(records), indent=2, ensure_ascii=False))
            archive.writestr("fhir-bundle.json", json.dumps(bundle, indent=2, ensure_ascii=False))
            for index, item in enumerate(files, start=1):
                _progress(export, 30 + int(50 * index / max(1, len(files))), f"Adding file {index} of {len(files)}")
                try:
                    archive.writestr(
                        f"files/{item.path}", read_verified(clinic, name=item.storage_name, sha256=item.sha256)
                    )
                except FileUnavailable as exc:
                    missing.append(f"{item.path}: {exc}")
            if missing:
                archive.writestr("files/MISSING.txt", "\n".join(missing) + "\n")
            _progress(export, 85, "Writing the summary")
            archive.writestr(
                "summary.pdf", _summary_pdf(patient, records, {"files": len(files) - len(missing)}, clinic)
            )
        stored = store_encrypted(
            clinic, data=buffer.getvalue(), folder="privacy-exports", suffix=".zip", subject=patient.pk
        )
    except Exception:
        logger.exception("privacy export failed")
        PatientExport.objects.filter(pk=export.pk).update(
            status=PatientExport.Status.FAILED,
            error="The archive could not be built; try again.",
            finished_at=timezone.now(),
        )
        return "failed"
    with transaction.atomic():
        now = timezone.now()
        PatientExport.objects.filter(pk=export.pk).update(
            status=PatientExport.Status.READY,
            progress=100,
            step="Ready",
            storage_name=stored.name,
            sha256=stored.sha256,
            size=stored.size,
            file_count=len(files) - len(missing),
            finished_at=now,
            expires_at=now + dt.timedelta(days=export_link_days()),
        )
        from audit.services import audit_record

        audit_record(
            actor=None, action="privacy.export_ready", obj=export, location_id=export.request.location_id,
            metadata={"files": len(files) - len(missing), "missing": len(missing)},
        )  # fmt: skip
    return "ready"


def clinic_patient_sections(clinic: Any) -> Iterator[tuple[str, bytes]]:
    """For a clinic's off-boarding export (clinics.archive): each patient's records as JSON (every
    registered source, as in an access request) and FHIR R4 bundle, at `<patient id>/...`."""
    from patients.models import Patient

    clinic_name = getattr(clinic, "name", "Clinic")
    for patient in Patient.objects.order_by("pk").iterator(chunk_size=200):
        records = {source.key: source.export(patient) for source in registry.data_sources()}
        yield (
            f"{patient.pk}/records.json",
            json.dumps(registry.jsonable(records), indent=2, ensure_ascii=False).encode(),
        )
        try:
            bundle = patient_bundle(patient, clinic_name=clinic_name)
        except Exception:  # one record FHIR refuses must not stop the clinic's export (tables/ hold it all)
            logger.exception("FHIR bundle failed in a clinic export")
            yield f"{patient.pk}/FHIR-BUNDLE-FAILED.txt", b"This patient's FHIR bundle could not be built.\n"
            continue
        yield f"{patient.pk}/fhir-bundle.json", json.dumps(bundle, indent=2, ensure_ascii=False).encode()
