"""Reads of the privacy app: the clinic's settings, the requests a user may see, the ONE access
function for a request (`rights_request_access`), and the audit events of a request."""

from __future__ import annotations

from typing import Any

from django.db import ProgrammingError
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.selectors import user_location_ids
from audit.models import AuditEvent
from docos.ids import parse_uuid
from patients.access import patient_visibility
from privacy.models import AffectedPatient, BreachIncident, NoticeRun, PatientExport, PrivacySettings, RightsRequest

PRIVACY_MANAGE = "privacy.manage"


def privacy_settings() -> PrivacySettings:
    found = PrivacySettings.objects.order_by("pk").first()
    return found if found is not None else PrivacySettings()


def configured_retention_years(category: str) -> int | None:
    """The clinic's own retention period for "clinical" or "billing" (the registry keeps the minimum)."""
    try:
        found = PrivacySettings.objects.order_by("pk").first()
    except ProgrammingError:  # a schema being created, before this app's tables exist
        return None
    if found is None:
        return None
    return found.clinical_retention_years if category == "clinical" else found.billing_retention_years


def requests_visible_to(user: Any) -> QuerySet[RightsRequest]:
    """Requests received at the user's branches (every branch when unrestricted) whose patient, if
    any, the user may open; nothing without `privacy.manage`."""
    if not user.has_capability(PRIVACY_MANAGE):
        return RightsRequest.objects.none()
    requests = RightsRequest.objects.select_related("patient", "location", "created_by")
    ids = user_location_ids(user)
    if ids is None:
        return requests
    visible = patient_visibility(user)
    patient_ok = Q(patient__isnull=True)
    if visible is not None:
        from patients.models import Patient

        patient_ok |= Q(patient__in=Patient.objects.filter(visible).values("pk"))
    return requests.filter(location_id__in=list(ids)).filter(patient_ok)


def rights_request_access(*, user: Any, request_id: Any) -> RightsRequest:
    """The request, or the same Http404 for a missing, malformed, other clinic's or other branch's id."""
    pk = parse_uuid(request_id)
    found = requests_visible_to(user).filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404("No such request")
    return found


def answers_for_every_branch(user: Any) -> bool:
    """`privacy.manage` and every branch: what an export (every record of the patient, made at every
    branch) and an erasure (of them all) need. A branch-restricted manager records, acknowledges,
    corrects and closes requests at their branches, but the branch rule keeps other branches'
    records from them, so they cannot build, download or erase the whole record."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.has_capability(PRIVACY_MANAGE)
        and user_location_ids(user) is None
    )


def export_access(*, user: Any, export_id: Any) -> PatientExport:
    """An export of a request the user may open, for a manager of every branch; else the same Http404."""
    pk = parse_uuid(export_id)
    found = (
        PatientExport.objects.select_related("request").filter(pk=pk, request__in=requests_visible_to(user)).first()
        if pk and answers_for_every_branch(user)
        else None
    )
    if found is None:
        raise Http404("No such export")
    return found


def rights_request_list(
    *, user: Any, status: str = "", kind: str = "", overdue: bool = False
) -> QuerySet[RightsRequest]:
    requests = requests_visible_to(user)
    if status == "open":
        requests = requests.filter(status__in=RightsRequest.OPEN)
    elif status:
        requests = requests.filter(status=status)
    if kind:
        requests = requests.filter(kind=kind)
    if overdue:
        requests = requests.filter(overdue_condition())
    return requests.order_by("-received_at", "-pk")


def overdue_condition(now: Any = None) -> Q:
    now = now or timezone.now()
    return Q(status__in=RightsRequest.OPEN) & (
        Q(acknowledged_at__isnull=True, acknowledge_due_at__lt=now) | Q(answer_due_at__lt=now)
    )


def rights_request_events(request: RightsRequest) -> QuerySet[AuditEvent]:
    """The audit events of the request and of its exports, oldest first."""
    export_ids = [str(pk) for pk in request.exports.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(object_type="privacy.rightsrequest", object_id=str(request.pk))
        | Q(object_type="privacy.patientexport", object_id__in=export_ids)
    ).order_by("seq")


# --- the breach register ------------------------------------------------------------------------------


def breaches_visible_to(user: Any) -> QuerySet[BreachIncident]:
    """Every incident of the clinic for a privacy manager who works at every branch; nothing otherwise."""
    from privacy.breaches import may_manage_breaches

    if not may_manage_breaches(user):
        return BreachIncident.objects.none()
    return BreachIncident.objects.select_related("account", "token__user", "recorded_by")


def breach_access(*, user: Any, incident_id: Any) -> BreachIncident:
    """The incident, or the same Http404 for a missing, malformed, other clinic's or not-allowed id."""
    pk = parse_uuid(incident_id)
    found = breaches_visible_to(user).filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404("No such incident")
    return found


def breach_overdue_condition(now: Any = None) -> Q:
    """A report to CERT-In or the Board not made by its deadline (the timer runs until it is marked)."""
    now = now or timezone.now()
    return Q(cert_in_reported_at__isnull=True, cert_in_due_at__lte=now) | Q(
        board_reported_at__isnull=True, board_due_at__lte=now
    )


def breach_list(*, user: Any, status: str = "") -> QuerySet[BreachIncident]:
    incidents = breaches_visible_to(user)
    if status == "active":
        incidents = incidents.exclude(status=BreachIncident.Status.CLOSED)
    elif status in BreachIncident.Status.values:
        incidents = incidents.filter(status=status)
    return incidents.annotate(affected_count=Count("affected", filter=Q(affected__excluded=False))).order_by(
        "-discovered_at", "-pk"
    )


def breach_affected(incident: BreachIncident) -> QuerySet[AffectedPatient]:
    return incident.affected.select_related("patient", "notice_message", "changed_by").order_by(
        "excluded", "patient__family_name", "patient__given_name", "pk"
    )


def breach_latest_run(incident: BreachIncident) -> NoticeRun | None:
    return incident.notice_runs.order_by("-created_at").first()


def breach_events(incident: BreachIncident) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type="privacy.breachincident", object_id=str(incident.pk)).order_by("seq")


def grievance_timers(user: Any, now: Any = None) -> dict[str, int]:
    """Open requests by timer: acknowledgement due (not yet late), answer due (acknowledged, not yet
    late) and overdue (either deadline passed)."""
    now = now or timezone.now()
    requests = requests_visible_to(user).filter(status__in=RightsRequest.OPEN)
    overdue = overdue_condition(now)
    return {
        "acknowledge_due": requests.filter(acknowledged_at__isnull=True).exclude(overdue).count(),
        "answer_due": requests.filter(acknowledged_at__isnull=False).exclude(overdue).count(),
        "overdue": requests.filter(overdue).count(),
    }
