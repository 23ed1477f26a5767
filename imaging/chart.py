"""What imaging adds to a patient's chart: the studies panel (with the upload button) and a count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imaging.access import UPLOAD, VIEW, studies_visible_to
from patients.models import Patient
from patients.selectors import TIMELINE_SOURCE_LIMIT, TimelineEntry

CHART_STUDIES_SHOWN = 5


def _studies_panel(patient: Patient, user: Any) -> dict[str, Any] | None:
    can_view = user.has_capability(VIEW)
    can_upload = user.has_capability(UPLOAD) and patient.is_active and patient.merged_into_id is None
    if not (can_view or can_upload):
        return None
    studies = studies_visible_to(user).filter(patient=patient) if can_view else None
    count = studies.count() if studies is not None else 0
    shown = list(studies.order_by("-study_date", "-created_at")[:CHART_STUDIES_SHOWN]) if studies is not None else []
    if not shown and not can_upload:
        return None
    return {
        "template": "imaging/_chart_studies.html",
        "studies": shown,
        "count": count,
        "can_view": can_view,
        "can_upload": can_upload,
    }


def _counts(patient: Patient, user: Any) -> dict[str, int]:
    if not user.has_capability(VIEW):
        return {}
    return {"imaging_studies": studies_visible_to(user).filter(patient=patient).count()}


def _timeline(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    """Each study on the chart's history, at the time it was received (the study date is in the detail)."""
    if not user.has_capability(VIEW):
        return []
    studies = studies_visible_to(user).filter(patient=patient).order_by("-created_at")[:TIMELINE_SOURCE_LIMIT]
    return [
        TimelineEntry(
            kind="imaging",
            at=study.created_at,
            title=study.description or "Imaging study",
            detail=" · ".join(
                part
                for part in (
                    study.modalities_label,
                    f"study of {study.study_date:%d %b %Y}" if study.study_date else "",
                    f"{study.instance_count} image{'s' if study.instance_count != 1 else ''}",
                )
                if part
            ),
            url=f"/imaging/studies/{study.pk}/",
            badge="Imaging",
            clinical=True,
        )
        for study in studies
    ]


def register() -> None:
    from patients.selectors import register_chart_counter, register_chart_section, register_timeline_source

    register_chart_section(_studies_panel)
    register_chart_counter(_counts)
    register_timeline_source("imaging", _timeline)
