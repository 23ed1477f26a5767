"""DICOMweb for one clinic (PS3.18): QIDO-RS search and WADO-RS retrieve over the clinic's index.

Reads only: what the index holds answers QIDO-RS (studies, series, instances as application/dicom+json);
WADO-RS returns the decrypted originals (multipart/related; type="application/dicom"), their headers
as DICOM JSON (metadata; pixel data left out, fetched as frames) and frames (multipart/related;
type="application/octet-stream", native or encapsulated as stored). Every query is scoped by the
caller's capability and branches (imaging.access.studies_visible_to), so a study of another clinic
(another schema) or branch is absent: 404 for a retrieve, no match for a search.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from pydicom.encaps import generate_frames
from pydicom.uid import UID

from accounts.models import User
from audit.access_log import record_read, record_reads
from audit.context import AuditContext
from imaging.access import studies_visible_to
from imaging.dicom import read_dataset
from imaging.models import Instance, Series, Study
from imaging.services import instance_bytes

DICOM_JSON = "application/dicom+json"
LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


class QueryError(ValueError):
    """A QIDO-RS query the server cannot answer (400, with this sentence)."""


# --- DICOM JSON helpers --------------------------------------------------------------------------


def _el(vr: str, value: Any) -> dict[str, Any]:
    if value is None or value == "" or value == []:
        return {"vr": vr}
    values = value if isinstance(value, list) else [value]
    if vr == "PN":
        values = [{"Alphabetic": str(v)} for v in values]
    return {"vr": vr, "Value": values}


def _da(value: dt.date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _tm(value: dt.time | None) -> str:
    return value.strftime("%H%M%S") if value else ""


def _pn(given: str, family: str) -> str:
    return f"{family}^{given}" if family else given


def study_json(study: Study, base_url: str) -> dict[str, Any]:
    patient = study.patient
    return {
        "00080020": _el("DA", _da(study.study_date)),
        "00080030": _el("TM", _tm(study.study_time)),
        "00080050": _el("SH", study.accession_number),
        "00080061": _el("CS", list(study.modalities)),
        "00080090": _el("PN", study.referring_physician),
        "00081030": _el("LO", study.description),
        "00081190": _el("UR", f"{base_url}/studies/{study.study_instance_uid}"),
        "00100010": _el("PN", _pn(patient.given_name, patient.family_name)),
        "00100020": _el("LO", patient.mrn),
        "00100030": _el("DA", _da(patient.date_of_birth)),
        "00100040": _el("CS", patient.sex if patient.sex in ("M", "F", "O") else ""),
        "0020000D": _el("UI", study.study_instance_uid),
        "00201206": _el("IS", study.series_count),
        "00201208": _el("IS", study.instance_count),
    }


def series_json(series: Series, base_url: str) -> dict[str, Any]:
    study = series.study
    return {
        "00080060": _el("CS", series.modality),
        "0008103E": _el("LO", series.description),
        "00081190": _el("UR", f"{base_url}/studies/{study.study_instance_uid}/series/{series.series_instance_uid}"),
        "00180015": _el("CS", series.body_part),
        "0020000D": _el("UI", study.study_instance_uid),
        "0020000E": _el("UI", series.series_instance_uid),
        "00200011": _el("IS", series.number),
        "00201209": _el("IS", series.instance_count),
    }


def instance_json(instance: Instance, base_url: str) -> dict[str, Any]:
    series, study = instance.series, instance.study
    where = f"{base_url}/studies/{study.study_instance_uid}/series/{series.series_instance_uid}"
    return {
        "00080016": _el("UI", instance.sop_class_uid),
        "00080018": _el("UI", instance.sop_instance_uid),
        "00080060": _el("CS", series.modality),
        "00081190": _el("UR", f"{where}/instances/{instance.sop_instance_uid}"),
        "0020000D": _el("UI", study.study_instance_uid),
        "0020000E": _el("UI", series.series_instance_uid),
        "00200013": _el("IS", instance.number),
        "00280008": _el("IS", instance.frames),
        "00280010": _el("US", instance.rows or None),
        "00280011": _el("US", instance.columns or None),
    }


# --- QIDO-RS -------------------------------------------------------------------------------------

# Query keys by keyword and by tag, as QIDO-RS allows both ("PatientID=…" or "00100020=…").
_KEYS = {
    "StudyInstanceUID": "0020000D",
    "PatientID": "00100020",
    "PatientName": "00100010",
    "StudyDate": "00080020",
    "AccessionNumber": "00080050",
    "ModalitiesInStudy": "00080061",
    "StudyDescription": "00081030",
    "ReferringPhysicianName": "00080090",
    "SeriesInstanceUID": "0020000E",
    "Modality": "00080060",
    "SeriesNumber": "00200011",
    "SOPInstanceUID": "00080018",
    "SOPClassUID": "00080016",
    "InstanceNumber": "00200013",
}
_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}


@dataclass(frozen=True)
class Query:
    terms: dict[str, str]
    limit: int
    offset: int


def parse_query(params: Any, *, allowed: Iterable[str]) -> Query:
    """The matching keys (by tag) and paging of a QIDO-RS request; QueryError for what we cannot match."""
    allowed_tags = {_KEYS[k] for k in allowed}
    terms: dict[str, str] = {}
    for key in params:
        if key in _CONTROL:
            continue
        tag = _KEYS.get(key, key.upper() if re.fullmatch(r"[0-9A-Fa-f]{8}", key) else "")
        if tag not in allowed_tags:
            raise QueryError(f"Matching on “{key}” is not supported here.")
        value = params.get(key, "").strip()
        if value:
            terms[tag] = value
    try:
        limit = int(params.get("limit", LIMIT_DEFAULT))
        offset = int(params.get("offset", 0))
    except ValueError as exc:
        raise QueryError("limit and offset are whole numbers.") from exc
    if limit < 1 or offset < 0:
        raise QueryError("limit is at least 1 and offset at least 0.")
    return Query(terms=terms, limit=min(limit, LIMIT_MAX), offset=offset)


def _wildcard(field: str, value: str) -> Q:
    """DICOM matching of a string: "*" and "?" wildcards, else exact (case-insensitive here)."""
    if "*" in value or "?" in value:
        pattern = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"
        return Q(**{f"{field}__iregex": pattern})
    return Q(**{f"{field}__iexact": value})


def _uid_list(value: str) -> list[str]:
    return [uid.strip() for uid in value.replace("\\", ",").split(",") if uid.strip()]


def _date_range(value: str) -> tuple[dt.date | None, dt.date | None]:
    def one(text: str) -> dt.date | None:
        text = text.strip()
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError as exc:
            raise QueryError("StudyDate is YYYYMMDD or a range YYYYMMDD-YYYYMMDD.") from exc

    if "-" in value:  # a range; either end may be open ("20240101-", "-20241231")
        start, _, end = value.partition("-")
        return one(start), one(end)
    day = one(value)
    return day, day


def _patient_name(value: str, prefix: str = "") -> Q:
    """PatientName matches the given or family name (or "Family^Given"), with DICOM wildcards."""
    family, _, given = value.partition("^")
    if given:
        return _wildcard(prefix + "patient__family_name", family) & _wildcard(prefix + "patient__given_name", given)
    return _wildcard(prefix + "patient__given_name", value) | _wildcard(prefix + "patient__family_name", value)


def _study_terms(studies: QuerySet[Study], terms: dict[str, str], prefix: str = "") -> QuerySet[Study]:
    p = prefix
    for tag, value in terms.items():
        if tag == "0020000D":
            studies = studies.filter(**{f"{p}study_instance_uid__in": _uid_list(value)})
        elif tag == "00100020":
            studies = studies.filter(_wildcard(p + "patient__mrn", value))
        elif tag == "00100010":
            studies = studies.filter(_patient_name(value, p))
        elif tag == "00080020":
            start, end = _date_range(value)
            if start:
                studies = studies.filter(**{f"{p}study_date__gte": start})
            if end:
                studies = studies.filter(**{f"{p}study_date__lte": end})
        elif tag == "00080050":
            studies = studies.filter(_wildcard(p + "accession_number", value))
        elif tag == "00080061":
            codes = [c.strip().upper() for c in value.replace("\\", ",").split(",") if c.strip()]
            studies = studies.filter(**{f"{p}modalities__overlap": codes})
        elif tag == "00081030":
            studies = studies.filter(_wildcard(p + "description", value))
        elif tag == "00080090":
            studies = studies.filter(_wildcard(p + "referring_physician", value))
    return studies


STUDY_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "StudyDate",
    "AccessionNumber",
    "ModalitiesInStudy",
    "StudyDescription",
    "ReferringPhysicianName",
)
SERIES_KEYS = ("SeriesInstanceUID", "Modality", "SeriesNumber")
INSTANCE_KEYS = ("SOPInstanceUID", "SOPClassUID", "InstanceNumber")


def visible_studies(user: User) -> QuerySet[Study]:
    return studies_visible_to(user)


def study_by_uid(user: User, study_uid: str) -> Study:
    """The study with this UID that the user may see, or Http404 (missing, other clinic's or branch's)."""
    found = visible_studies(user).filter(study_instance_uid=study_uid).first()
    if found is None:
        raise Http404("No such study")
    return found


def search_studies(user: User, query: Query) -> list[Study]:
    # A restricted patient's record is hidden from every search (privacy); retrieval by UID still works
    # for staff who already have it, as opening the chart by its id does.
    searchable = visible_studies(user).filter(patient__restricted_at__isnull=True)
    studies = _study_terms(searchable, query.terms)
    rows = list(studies.order_by("-study_date", "study_instance_uid")[query.offset : query.offset + query.limit])
    record_reads(user=user, patient_ids=[s.patient_id for s in rows], what="dicomweb search")
    return rows


def search_series(user: User, query: Query, *, study: Study | None = None) -> list[Series]:
    series = Series.objects.select_related("study", "study__patient").filter(study__in=visible_studies(user))
    if study is not None:
        series = series.filter(study=study)
    study_terms = {t: v for t, v in query.terms.items() if t in {_KEYS[k] for k in STUDY_KEYS}}
    if study_terms:
        series = series.filter(study__in=_study_terms(visible_studies(user), study_terms))
    for tag, value in query.terms.items():
        if tag == "0020000E":
            series = series.filter(series_instance_uid__in=_uid_list(value))
        elif tag == "00080060":
            series = series.filter(modality__iexact=value)
        elif tag == "00200011":
            try:
                series = series.filter(number=int(value))
            except ValueError as exc:
                raise QueryError("SeriesNumber is a whole number.") from exc
    rows = list(
        series.order_by("study__study_instance_uid", "number", "series_instance_uid")[
            query.offset : query.offset + query.limit
        ]
    )
    record_reads(user=user, patient_ids=[s.study.patient_id for s in rows], what="dicomweb search")
    return rows


def search_instances(user: User, query: Query, *, study: Study | None = None, series_uid: str = "") -> list[Instance]:
    instances = Instance.objects.select_related("series", "study", "study__patient").filter(
        study__in=visible_studies(user)
    )
    if study is not None:
        instances = instances.filter(study=study)
    if series_uid:
        instances = instances.filter(series__series_instance_uid=series_uid)
        if (
            study is not None
            and not instances.exists()
            and not study.series.filter(series_instance_uid=series_uid).exists()
        ):
            raise Http404("No such series")
    study_terms = {t: v for t, v in query.terms.items() if t in {_KEYS[k] for k in STUDY_KEYS}}
    if study_terms:
        instances = instances.filter(study__in=_study_terms(visible_studies(user), study_terms))
    for tag, value in query.terms.items():
        if tag == "00080018":
            instances = instances.filter(sop_instance_uid__in=_uid_list(value))
        elif tag == "00080016":
            instances = instances.filter(sop_class_uid__in=_uid_list(value))
        elif tag == "0020000E":
            instances = instances.filter(series__series_instance_uid__in=_uid_list(value))
        elif tag == "00080060":
            instances = instances.filter(series__modality__iexact=value)
        elif tag == "00200013":
            try:
                instances = instances.filter(number=int(value))
            except ValueError as exc:
                raise QueryError("InstanceNumber is a whole number.") from exc
    ordered = instances.order_by("series__number", "series__series_instance_uid", "number", "sop_instance_uid")
    rows = list(ordered[query.offset : query.offset + query.limit])
    record_reads(user=user, patient_ids=[i.study.patient_id for i in rows], what="dicomweb search")
    return rows


# --- WADO-RS -------------------------------------------------------------------------------------


def instances_for_retrieve(user: User, study_uid: str, series_uid: str = "", sop_uid: str = "") -> list[Instance]:
    """The instances a retrieve names (a study, a series of it, or one instance), or Http404."""
    study = study_by_uid(user, study_uid)
    instances = Instance.objects.filter(study=study).select_related("series", "study")
    if series_uid:
        instances = instances.filter(series__series_instance_uid=series_uid)
    if sop_uid:
        instances = instances.filter(sop_instance_uid=sop_uid)
    found = list(instances.order_by("series__number", "series__series_instance_uid", "number", "sop_instance_uid"))
    if not found:
        raise Http404("No such series or instance")
    record_read(user=user, patient_id=study.patient_id, what="dicomweb retrieve")
    return found


def new_boundary() -> str:
    return uuid.uuid4().hex


def multipart(parts: Iterable[tuple[str, bytes]], boundary: str) -> Iterator[bytes]:
    """multipart/related body: each (content type, bytes) as one part (PS3.18 8.7.3)."""
    for content_type, data in parts:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        yield data
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def originals(instances: list[Instance], *, actor: User, context: AuditContext | None) -> Iterator[tuple[str, bytes]]:
    """The decrypted original of each instance, one at a time (streamed: a study may be large)."""
    for instance in instances:
        yield (
            f"application/dicom; transfer-syntax={instance.transfer_syntax_uid}"
            if instance.transfer_syntax_uid
            else "application/dicom",
            instance_bytes(instance=instance, actor=actor, context=context),
        )


_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}
BULK_MAX = 64 * 1024


def instance_metadata_json(instance: Instance, *, actor: User, context: AuditContext | None) -> dict[str, Any]:
    """The instance's header as DICOM JSON, without the pixels (a viewer asks for them by frame)."""
    ds = read_dataset(instance_bytes(instance=instance, actor=actor, context=context), stop_before_pixels=True)
    for element in list(ds):
        # Pixel data comes as frames; other large binary values (rare: overlays, icons) are left out.
        if int(element.tag) in _PIXEL_TAGS or (element.VR in _BINARY and len(element.value or b"") > BULK_MAX):
            del ds[element.tag]
    out = ds.to_json_dict(bulk_data_threshold=BULK_MAX + 1)
    out["00020010"] = _el("UI", instance.transfer_syntax_uid)  # how the frames (below) are encoded
    return out


def frame_numbers(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise Http404("Frame numbers are whole numbers from 1.") from exc
    if not numbers or any(n < 1 for n in numbers):
        raise Http404("Frame numbers are whole numbers from 1.")
    return numbers


def frames(
    instance: Instance, numbers: list[int], *, actor: User, context: AuditContext | None
) -> list[tuple[str, bytes]]:
    """The pixel data of the given frames (1-based), as stored: native bytes or the encapsulated frame."""
    ds = read_dataset(instance_bytes(instance=instance, actor=actor, context=context), stop_before_pixels=False)
    if "PixelData" not in ds:
        raise Http404("This instance has no pixel data")
    count = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if any(n > count for n in numbers):
        raise Http404("No such frame")
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    pixel_data = ds.PixelData
    if syntax.is_encapsulated:
        all_frames = list(generate_frames(pixel_data, number_of_frames=count))
        chosen = [all_frames[n - 1] for n in numbers]
        content_type = f"application/octet-stream; transfer-syntax={syntax}"
    else:
        size = int(ds.Rows) * int(ds.Columns) * int(getattr(ds, "SamplesPerPixel", 1)) * int(ds.BitsAllocated) // 8
        chosen = [bytes(pixel_data[(n - 1) * size : n * size]) for n in numbers]
        content_type = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    return [(content_type, data) for data in chosen]
