"""Imaging reads: the study list and search (per clinic and per patient), a study's series and images.

Scoped by imaging.access (patients.access underneath): a user sees the studies made at their
branches, or those of patients they opened with a reason; nothing without `imaging.view`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from imaging.access import studies_visible_to
from imaging.models import Instance, Series, Study, Upload
from patients.access import scope_patient_records
from patients.models import Patient

MODALITIES = [
    ("CT", "CT"),
    ("MR", "MRI"),
    ("US", "Ultrasound"),
    ("CR", "X-ray (CR)"),
    ("DX", "X-ray (DX)"),
    ("MG", "Mammography"),
    ("XA", "Angiography"),
    ("NM", "Nuclear medicine"),
    ("PT", "PET"),
    ("OT", "Other"),
]


@dataclass(frozen=True)
class StudyFilters:
    text: str = ""  # words of the description
    accession: str = ""
    modality: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def as_query(self) -> dict[str, str]:
        values = {
            "q": self.text,
            "accession": self.accession,
            "modality": self.modality,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in values.items() if v}

    @property
    def any(self) -> bool:
        return bool(self.as_query())


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def filters_from(params: Any) -> tuple[StudyFilters, list[str]]:
    """Filters from query parameters, and sentences for those that could not be used."""
    problems: list[str] = []
    raw_from, raw_to = params.get("from", ""), params.get("to", "")
    date_from, date_to = _date(raw_from), _date(raw_to)
    if raw_from and date_from is None:
        problems.append("The “from” date is not a date; use the date picker (YYYY-MM-DD).")
    if raw_to and date_to is None:
        problems.append("The “to” date is not a date; use the date picker (YYYY-MM-DD).")
    if date_from and date_to and date_from > date_to:
        problems.append("The “from” date is after the “to” date; the dates were swapped.")
        date_from, date_to = date_to, date_from
    modality = (params.get("modality", "") or "").strip().upper()[:16]
    return (
        StudyFilters(
            text=" ".join((params.get("q", "") or "").split())[:100],
            accession=(params.get("accession", "") or "").strip()[:64],
            modality=modality,
            date_from=date_from,
            date_to=date_to,
        ),
        problems,
    )


def study_search(*, user: Any, filters: StudyFilters, patient: Patient | None = None) -> QuerySet[Study]:
    studies = studies_visible_to(user)
    if patient is not None:
        studies = studies.filter(patient=patient)
    else:  # the clinic-wide list is a search: a restricted patient's studies stay on their chart only
        studies = studies.filter(patient__restricted_at__isnull=True)
    for word in filters.text.split():
        studies = studies.filter(Q(description__icontains=word) | Q(series__description__icontains=word))
    if filters.accession:
        studies = studies.filter(accession_number__iexact=filters.accession)
    if filters.modality:
        studies = studies.filter(modalities__contains=[filters.modality])
    if filters.date_from:
        studies = studies.filter(study_date__gte=filters.date_from)
    if filters.date_to:
        studies = studies.filter(study_date__lte=filters.date_to)
    return studies.distinct().order_by("-study_date", "-created_at")


def study_series(study: Study) -> list[Series]:
    return list(study.series.filter(instance_count__gt=0).order_by("number", "created_at"))


def series_instances(series: Series) -> QuerySet[Instance]:
    return series.instances.order_by("number", "slice_location", "created_at")


def study_manifest(study: Study) -> dict[str, Any]:
    """What the viewer needs: every series with its images (id, number, frames, size, spacing, window)."""
    series_list = []
    instances = Instance.objects.filter(study=study).order_by("number", "slice_location", "created_at")
    by_series: dict[Any, list[Instance]] = {}
    for instance in instances:
        by_series.setdefault(instance.series_id, []).append(instance)
    for series in study.series.order_by("number", "created_at"):
        images = [i for i in by_series.get(series.pk, []) if i.has_pixels]
        if not images:
            continue
        series_list.append(
            {
                "id": str(series.pk),
                "number": series.number,
                "modality": series.modality,
                "description": series.description,
                "body_part": series.body_part,
                "images": [
                    {
                        "id": str(i.pk),
                        "number": i.number,
                        "frames": i.frames,
                        "rows": i.rows,
                        "columns": i.columns,
                        "spacing": [i.pixel_spacing_row, i.pixel_spacing_col] if i.pixel_spacing_row else None,
                        "window": [i.window_center, i.window_width] if i.window_width else None,
                        "colour": i.photometric.upper() not in ("MONOCHROME1", "MONOCHROME2", ""),
                    }
                    for i in images
                ],
            }
        )
    return {"study": str(study.pk), "series": series_list}


def uploads_for(*, user: Any, patient: Patient, limit: int = 10) -> list[Upload]:
    if not (user.has_capability("imaging.upload") or user.has_capability("imaging.view")):
        return []
    return list(scope_patient_records(Upload.objects.filter(patient=patient), user).order_by("-created_at")[:limit])
