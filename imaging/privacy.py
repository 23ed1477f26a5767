"""What the imaging app holds about a patient, registered in the patient-data registry: studies with
their series and instances (the DICOM originals, encrypted in the clinic's storage), share links and
their access log, and uploads with their stored chunks. Clinical records for retention: a study is
an encounter (it restarts the 10 years, as a visit does)."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from audit.services import audit_record
from imaging.models import Instance, ShareLink, Study, Upload, UploadPart
from patients import registry
from patients.models import Patient
from patients.registry import Erased, ExportFile, Records, record_of

STUDY_FIELDS = (
    "study_instance_uid", "study_date", "description", "modalities", "accession_number", "referring_physician",
    "institution", "series_count", "instance_count", "created_at",
)  # fmt: skip


def _export(patient: Patient) -> Records:
    ids = registry.patient_ids(patient)
    studies = Study.objects.filter(patient_id__in=ids).prefetch_related("series").order_by("created_at")
    return {
        "imaging_studies": [
            {
                **record_of(study, STUDY_FIELDS),
                "series": [
                    record_of(
                        s, ("series_instance_uid", "number", "modality", "body_part", "description", "instance_count")
                    )
                    for s in study.series.all()
                ],
                "share_links": [
                    record_of(link, ("created_at", "expires_at", "revoked_at")) for link in study.share_links.all()
                ],
            }
            for study in studies
        ],
    }


def _files(patient: Patient) -> list[ExportFile]:
    ids = registry.patient_ids(patient)
    instances = Instance.objects.filter(study__patient_id__in=ids).select_related("study", "series")
    return [
        ExportFile(
            f"imaging/{i.study.study_instance_uid}/{i.series.series_instance_uid}/{i.sop_instance_uid}.dcm",
            i.storage_name,
            i.sha256,
        )
        for i in instances.order_by("study__created_at", "series__number", "number")
    ]


def _erase(patient: Patient) -> Erased:
    ids = registry.patient_ids(patient)
    files = list(Instance.objects.filter(study__patient_id__in=ids).values_list("storage_name", flat=True))
    files += list(UploadPart.objects.filter(upload__patient_id__in=ids).values_list("storage_name", flat=True))
    rows = Study.objects.filter(patient_id__in=ids).delete()[0]  # series, instances, share links follow
    rows += Upload.objects.filter(patient_id__in=ids).delete()[0]
    return Erased(rows=rows, files=[name for name in files if name])


def _restrict(patient: Patient) -> None:
    """A restricted record is shown to no one outside the clinic: every live share link of the patient's
    studies is revoked now (audited, the actor is the restriction itself), so a link sent earlier stops
    opening the study."""
    ids = registry.patient_ids(patient)
    live = ShareLink.objects.select_for_update().filter(study__patient_id__in=ids, revoked_at__isnull=True)
    for link in live.select_related("study"):
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit_record(
            actor=None,
            action="imaging.share.revoke",
            obj=link,
            location_id=link.study.location_id,
            metadata={"study": str(link.study_id), "reason": "patient_restricted"},
        )


def _last_encounter(patient: Patient) -> dt.datetime | None:
    ids = registry.patient_ids(patient)
    return Study.objects.filter(patient_id__in=ids).order_by("-created_at").values_list("created_at", flat=True).first()


def _last_encounter_sql() -> Subquery:
    return Subquery(Study.objects.filter(patient=OuterRef("pk")).order_by("-created_at").values("created_at")[:1])


def register() -> None:
    registry.register_data_source(
        registry.PatientDataSource(
            key="imaging",
            label="Imaging studies (DICOM originals), their share links and uploads",
            category=registry.CLINICAL,
            export=_export,
            files=_files,
            erase=_erase,
            restrict=_restrict,
            retain_until=lambda patient: registry.clinical_retain_until(patient),
            last_encounter=_last_encounter,
            last_encounter_sql=_last_encounter_sql,
            erase_order=40,
        )
    )
