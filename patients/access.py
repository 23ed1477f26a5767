"""Who may open which patient, and every record that belongs to one: the ONE place that turns an id
from a request into a patient-scoped object.

A staff member with no assigned locations sees the whole clinic. One restricted to some branches
sees a patient registered at, or seen at (a visit, an appointment: links other apps register), one
of their branches, or one they opened at their branch with a reason ("break-the-glass":
`PatientAccessGrant`, time-limited and audited). A record that belongs to a patient (visit,
prescription, document, consent, certificate, appointment) is visible when it was made at one of
the user's branches, or when the user holds a live grant for its patient.

A missing id, a malformed id, another clinic's id (another schema: simply absent) and another
branch's id all raise the same Http404. Every successful read is noted in the record-access log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.selectors import user_location_ids
from audit.access_log import record_read, record_reads
from docos.ids import parse_uuid
from docos.throttle import within_budget
from patients.models import Patient, PatientAccessGrant

M = TypeVar("M", bound=Model)
CROSS_BRANCH = "patients.cross_branch"
# Look-ups of other branches' patients by exact MRN or phone that found someone, per user and hour:
# enough for a busy desk, too few to walk the (sequential) MRNs. Each is in the record-access log.
LOOKUPS_ELSEWHERE_PER_HOUR = 30

# Records of other apps that link a patient to a branch ("seen here"), registered at start-up
# (clinical: visits; appointments: bookings). Each gives an Exists() over the patient row.
LocationLink = Callable[[list[uuid.UUID]], Exists]
_LOCATION_LINKS: list[LocationLink] = []


def register_location_link(link: LocationLink) -> None:
    _LOCATION_LINKS.append(link)
    _LINK_SQL.clear()


# Each link's condition as SQL, per number of locations (_link_sql).
_LINK_SQL: dict[tuple[int, int], tuple[str, list[Any], list[int]]] = {}


def _live_grants(user: Any, location_ids: list[uuid.UUID]) -> QuerySet[PatientAccessGrant]:
    """Grants that still open a record: unexpired, opened at a branch the user still works at, and
    only while the user may still open other branches' patients at all."""
    if not user.has_capability(CROSS_BRANCH):
        return PatientAccessGrant.objects.none()
    return PatientAccessGrant.objects.filter(
        user_id=user.pk, location_id__in=location_ids, expires_at__gt=timezone.now()
    )


def _live_grant(user: Any, location_ids: list[uuid.UUID], patient_ref: str) -> Q:
    """The condition "the user holds a live grant for this row's patient" (never true without the capability)."""
    if not user.has_capability(CROSS_BRANCH):
        return Q(pk__in=[])
    return Q(Exists(_live_grants(user, location_ids).filter(patient_id=OuterRef(patient_ref))))


def patient_visibility(user: Any) -> Q | None:
    """The condition on Patient rows for what `user` may open; None when the user sees every patient."""
    ids = user_location_ids(user)
    if ids is None:
        return None
    if not ids:
        return Q(pk__in=[])
    location_ids = list(ids)
    condition = Q(registered_location_id__in=location_ids)
    for link in _LOCATION_LINKS:
        condition |= Q(link(location_ids))
    return condition | _live_grant(user, location_ids, "pk")


def _compiled_link(link: LocationLink, location_ids: list[uuid.UUID]) -> tuple[str, list[Any]]:
    query = Patient.objects.filter(link(location_ids)).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, list(params)


def _link_sql(index: int, link: LocationLink, location_ids: list[uuid.UUID]) -> tuple[str, list[Any]]:
    """A location link's condition as SQL. Compiled once per process and number of locations: kept
    when compiling it for other locations changes nothing but the locations (no clock, no user in
    it), then only the locations are filled in."""
    cached = _LINK_SQL.get((index, len(location_ids)))
    if cached is not None:
        sql, params, slots = cached
        filled = list(params)
        for slot, value in zip(slots, location_ids, strict=True):
            filled[slot] = value
        return sql, filled
    sql, params = _compiled_link(link, location_ids)
    probe = [uuid.uuid4() for _ in location_ids]
    probe_sql, probe_params = _compiled_link(link, probe)
    slots = [i for i, value in enumerate(params) if value in set(location_ids)]
    if (
        probe_sql == sql
        and len(probe_params) == len(params)
        and [params[i] for i in slots] == location_ids
        and [probe_params[i] for i in slots] == probe
        and all(params[i] == probe_params[i] for i in range(len(params)) if i not in slots)
    ):
        _LINK_SQL[(index, len(location_ids))] = (sql, params, slots)
    return sql, params


def patient_visibility_sql(user: Any) -> tuple[str, list[Any]] | None:
    """`patient_visibility` as SQL on the unaliased patients table, for statements written as SQL
    (the patient search): the same condition, without building and compiling querysets for every
    search. None when the user sees every patient."""
    ids = user_location_ids(user)
    if ids is None:
        return None
    if not ids:
        return "FALSE", []
    location_ids = list(ids)
    patients = connection.ops.quote_name(Patient._meta.db_table)
    parts: list[tuple[str, list[Any]]] = [(f"{patients}.registered_location_id = ANY(%s::uuid[])", [location_ids])]
    parts += [_link_sql(i, link, location_ids) for i, link in enumerate(_LOCATION_LINKS)]
    if user.has_capability(CROSS_BRANCH):
        grants = connection.ops.quote_name(PatientAccessGrant._meta.db_table)
        parts.append(
            (
                f"EXISTS (SELECT 1 FROM {grants} WHERE {grants}.patient_id = {patients}.id AND {grants}.user_id = %s "
                f"AND {grants}.location_id = ANY(%s::uuid[]) AND {grants}.expires_at > %s)",
                [user.pk, location_ids, timezone.now()],
            )
        )
    return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def scope_patients(patients: QuerySet[Patient], user: Any) -> QuerySet[Patient]:
    condition = patient_visibility(user)
    return patients if condition is None else patients.filter(condition)


def visible_patients(user: Any) -> QuerySet[Patient]:
    """Every patient (including merged and inactive records) the user may open."""
    return scope_patients(Patient.objects.all(), user)


def scope_patient_records(
    records: QuerySet[M], user: Any, *, location_field: str = "location", patient_field: str = "patient"
) -> QuerySet[M]:
    """Records belonging to patients (visits, prescriptions, documents, ...) that `user` may open:
    made at one of their branches, or of a patient they hold a live grant for."""
    ids = user_location_ids(user)
    if ids is None:
        return records
    if not ids:
        return records.none()
    location_ids = list(ids)
    return records.filter(
        Q(**{f"{location_field}_id__in": location_ids}) | _live_grant(user, location_ids, f"{patient_field}_id")
    )


def _get_or_404(queryset: QuerySet[M], raw_id: Any, label: str) -> M:
    pk = parse_uuid(raw_id)
    found = queryset.filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404(f"No such {label}")
    return found


def patient_access(*, user: Any, patient_id: Any, what: str = "chart") -> Patient:
    """The patient, or Http404 for a missing, malformed, other clinic's or not-visible id.

    Merged records are returned as they are (pages show where they went); writes refuse them."""
    patient = _get_or_404(
        visible_patients(user).select_related("registered_location", "merged_into", "created_by"), patient_id, "patient"
    )
    record_read(user=user, patient_id=patient.pk, what=what)
    return patient


def user_can_open_patient(user: Any, patient: Patient) -> bool:
    return visible_patients(user).filter(pk=patient.pk).exists()


def require_patient_access(user: Any, patient: Patient) -> None:
    """For services: refuse (404, like every other lookup) to act on a patient the user cannot open."""
    if not user_can_open_patient(user, patient):
        raise Http404("No such patient")


def record_access(records: QuerySet[M], *, user: Any, record_id: Any, label: str, what: str) -> M:
    """A patient-scoped record by id through `scope_patient_records`, with the read logged.

    `records` is the model's base queryset (with its select_related); each app's `<kind>_access`
    calls this so every kind is scoped the same way."""
    found = _get_or_404(scope_patient_records(records, user), record_id, label)
    record_read(user=user, patient_id=found.patient_id, what=what)  # type: ignore[attr-defined]
    return found


def note_list_reads(*, user: Any, records: Iterable[Any], what: str) -> None:
    """A page of visits, prescriptions, documents, ... shows the records of several patients: note a
    read of each (records without a patient, like templates, are skipped)."""
    record_reads(user=user, patient_ids=(getattr(r, "patient_id", None) for r in records), what=what)


def paginate_records(view: Any, request: Any, records: Any, serialize: Callable[[Any], Any]) -> Any:
    """An API page of patient records (docos.api_pagination.paginate), with the reads noted."""
    from docos.api_pagination import paginate

    return paginate(
        view,
        request,
        records,
        serialize,
        on_page=lambda page: note_list_reads(user=request.user, records=page, what="list"),
    )


def records_page(request: Any, records: Any, per_page: int) -> Page[Any]:
    """One page (?page=) of a list of patient records for a page view, with the reads noted."""
    page = Paginator(records, per_page).get_page(request.GET.get("page"))
    note_list_reads(user=request.user, records=page.object_list, what="list")
    return page


def live_grant(*, user: Any, patient: Patient) -> PatientAccessGrant | None:
    ids = user_location_ids(user)
    if not ids:
        return None
    return _live_grants(user, list(ids)).filter(patient=patient).order_by("-expires_at").first()


def patient_find_elsewhere(*, user: Any, mrn: str = "", phone_e164: str = "") -> list[Patient]:
    """Patients of OTHER branches that match an exact MRN or phone number: what a restricted user is
    offered to "open at this branch" (with a reason) instead of registering someone twice. Exact
    identifiers only, so the directory cannot be browsed; nothing for users who see every branch or
    lack the capability."""
    condition = patient_visibility(user)
    if condition is None or not user.has_capability(CROSS_BRANCH):
        return []
    match = Q()
    if mrn:
        match |= Q(mrn__iexact=mrn.strip())
    if phone_e164:
        match |= Q(phone=phone_e164) | Q(whatsapp_number=phone_e164) | Q(guardian_phone=phone_e164)
    if not match:
        return []
    return list(
        Patient.objects.filter(match, is_active=True, restricted_at__isnull=True)  # hidden from every search
        .exclude(condition)
        .select_related("registered_location")
        .order_by("given_name", "family_name")[:10]
    )


class LookupsExhausted(Exception):
    """The user looked up too many patients of other branches this hour."""


def patient_lookup_elsewhere(*, user: Any, mrn: str = "", phone_e164: str = "") -> list[Patient]:
    """`patient_find_elsewhere` for a person at the desk: counted against the user's hourly budget
    (LookupsExhausted once spent) and noted in the record-access log for every patient it shows."""
    if not user.has_capability(CROSS_BRANCH) or user_location_ids(user) is None or not (mrn or phone_e164):
        return []
    found = patient_find_elsewhere(user=user, mrn=mrn, phone_e164=phone_e164)
    # Only look-ups that show someone count: a desk searching its own patients by phone all day is
    # never slowed down, while walking the MRNs of other branches is.
    if found and not within_budget(f"lookup-elsewhere:{user.pk}", LOOKUPS_ELSEWHERE_PER_HOUR, 3600):
        raise LookupsExhausted
    for patient in found:
        record_read(user=user, patient_id=patient.pk, what="lookup elsewhere")
    return found


def patient_check_writable(*, actor: Any, patient: Patient) -> None:
    """Every service that writes a record FOR a patient starts here: the actor must be able to open
    the patient (else the same Http404 as a lookup: writing never makes a patient visible), and the
    record must be the live one."""
    from django.core.exceptions import ValidationError

    require_patient_access(actor, patient)
    if patient.merged_into_id is not None:
        raise ValidationError({"patient": "This patient record was merged into another; use that record instead."})
    if not patient.is_active:
        raise ValidationError({"patient": "This patient record is inactive."})


def patient_filter_access(*, user: Any, patient_id: Any) -> Patient | None:
    """For list filters (`?patient=`): None when no patient was named, else the same as patient_access."""
    return patient_access(user=user, patient_id=patient_id) if patient_id else None
