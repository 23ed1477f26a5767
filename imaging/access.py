"""Who may open which imaging study, series and image: the ONE place that turns an id into one.

Built on patients.access: a study belongs to a patient and was made at a location, so a user
restricted to some branches sees the studies made at them, or every study of a patient they
opened at their branch with a reason (a live grant). Without `imaging.view`, and for a missing,
malformed or another clinic's (another schema: simply absent) id, the answer is the same Http404.
Every successful read is noted in the record-access log.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from audit.access_log import record_read
from docos.ids import parse_uuid
from imaging.models import Instance, Series, Study, Upload
from patients.access import record_access, scope_patient_records

VIEW = "imaging.view"
UPLOAD = "imaging.upload"


def _studies() -> QuerySet[Study]:
    return Study.objects.select_related("patient", "location", "created_by")


def studies_visible_to(user: Any) -> QuerySet[Study]:
    if not user.has_capability(VIEW):
        return Study.objects.none()
    return scope_patient_records(_studies(), user)


def study_access(user: Any, study_id: Any, *, what: str = "imaging study") -> Study:
    """The study, or Http404: missing, malformed, other clinic's or branch's id, or a user without imaging.view."""
    if not user.has_capability(VIEW):
        raise Http404("No such study")
    return record_access(_studies(), user=user, record_id=study_id, label="study", what=what)


def instance_access(user: Any, instance_id: Any, *, what: str = "imaging image") -> Instance:
    """An image (DICOM instance) through its study's access rule: the same Http404 otherwise."""
    if not user.has_capability(VIEW):
        raise Http404("No such image")
    instances = scope_patient_records(
        Instance.objects.select_related("series", "study", "study__patient", "study__location"),
        user,
        location_field="study__location",
        patient_field="study__patient",
    )
    pk = parse_uuid(instance_id)
    found = instances.filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404("No such image")
    record_read(user=user, patient_id=found.study.patient_id, what=what)
    return found


def series_of(study: Study) -> QuerySet[Series]:
    return study.series.order_by("number", "created_at")


def upload_access(user: Any, upload_id: Any, *, what: str = "imaging upload") -> Upload:
    """An upload (its progress and report): visible to who may upload or view imaging, scoped like records."""
    if not (user.has_capability(UPLOAD) or user.has_capability(VIEW)):
        raise Http404("No such upload")
    uploads = Upload.objects.select_related("patient", "location", "uploaded_by")
    return record_access(uploads, user=user, record_id=upload_id, label="upload", what=what)
