"""Every write of the privacy app: rights requests and their life cycle, the answer to an erasure
request (erasure, or a restriction where the retention law makes the clinic keep records), exports,
and the clinic's privacy settings. Each writes an audit event (never PHI in its metadata)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from accounts.models import Location, User
from accounts.selectors import user_location_ids
from audit.context import AuditContext
from audit.services import audit_record
from patients import registry
from patients.access import require_patient_access
from patients.models import Patient
from patients.services import patient_correct, patient_restrict
from privacy.models import PatientExport, PrivacySettings, RightsRequest
from privacy.selectors import answers_for_every_branch, privacy_settings

Kind = RightsRequest.Kind
Status = RightsRequest.Status
EXPORT_KINDS = (Kind.ACCESS, Kind.PORTABILITY)
BY_ERASURE_ONLY = (RightsRequest.Outcome.ERASED, RightsRequest.Outcome.RESTRICTED)  # rights_request_erase sets them


def _next_reference() -> str:
    last = RightsRequest.objects.select_for_update().order_by("-reference").values_list("reference", flat=True).first()
    number = int(last.split("-")[1]) + 1 if last else 1
    return f"PR-{number:06d}"


@transaction.atomic
def rights_request_create(
    *,
    actor: User,
    kind: str,
    location: Location,
    requester_name: str,
    verification: str,
    patient: Patient | None = None,
    requester_relation: str = RightsRequest.Relation.SELF,
    requester_contact: str = "",
    details: str = "",
    received_at: dt.datetime | None = None,
    context: AuditContext | None = None,
) -> RightsRequest:
    """Record a request as received, with its timers: acknowledgement within the clinic's
    acknowledge period (default 7 days) and the answer within its answer period (at most 90 days)."""
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = "Choose what the patient asks for."
    if verification not in RightsRequest.Verification.values:
        errors["verification"] = "Say how the requester's identity was checked."
    if requester_relation not in RightsRequest.Relation.values:
        errors["requester_relation"] = "Choose who is asking."
    requester_name = " ".join((requester_name or "").split())
    if not requester_name:
        errors["requester_name"] = "Enter the name of the person asking."
    if patient is None and kind != Kind.GRIEVANCE:
        errors["patient"] = "Choose the patient the request is about."
    allowed = user_location_ids(actor)
    if location is None or not location.is_active or (allowed is not None and location.pk not in allowed):
        errors["location"] = "Choose one of your branches: the request is answered where it was received."
    received_at = received_at or timezone.now()
    if received_at > timezone.now() + dt.timedelta(minutes=5):
        errors["received_at"] = "The request cannot have been received in the future."
    if errors:
        raise ValidationError(errors)
    if patient is not None:
        require_patient_access(actor, patient)
    periods = privacy_settings()
    request = RightsRequest.objects.create(
        reference=_next_reference(),
        kind=kind,
        patient=patient,
        location=location,
        requester_name=requester_name,
        requester_relation=requester_relation,
        requester_contact=requester_contact.strip(),
        verification=verification,
        details=details.strip(),
        received_at=received_at,
        acknowledge_due_at=received_at + dt.timedelta(days=periods.acknowledge_days),
        answer_due_at=received_at + dt.timedelta(days=min(periods.answer_days, 90)),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="privacy.request_create",
        obj=request,
        location_id=location.pk,
        context=context,
        metadata={"kind": kind, "verification": verification, "relation": requester_relation},
    )
    return request


def _locked(request: RightsRequest) -> RightsRequest:
    locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_open:
        raise ValidationError("This request is closed.")
    return locked


@transaction.atomic
def rights_request_acknowledge(
    *, request: RightsRequest, actor: User, context: AuditContext | None = None
) -> RightsRequest:
    locked = _locked(request)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.status = Status.ACKNOWLEDGED
        locked.save(update_fields=["acknowledged_at", "status", "updated_at"])
        audit_record(
            actor=actor,
            action="privacy.request_acknowledge",
            obj=locked,
            location_id=locked.location_id,
            context=context,
        )
    return locked


@transaction.atomic
def rights_request_close(
    *, request: RightsRequest, actor: User, outcome: str, note: str, context: AuditContext | None = None
) -> RightsRequest:
    """Close a request with its outcome and what the patient was told."""
    locked = _locked(request)
    note = note.strip()
    if outcome not in RightsRequest.Outcome.values or not outcome:
        raise ValidationError({"outcome": "Choose the outcome."})
    if outcome in BY_ERASURE_ONLY:  # a fact about the patient's data: set only by doing it
        raise ValidationError({"outcome": "Answer the erasure request with Erase; it records what was erased or kept."})
    if outcome == RightsRequest.Outcome.REFUSED and not note:
        raise ValidationError({"note": "A refusal needs its reason, as told to the patient."})
    locked.status = Status.REJECTED if outcome == RightsRequest.Outcome.REFUSED else Status.COMPLETED
    locked.outcome = outcome
    locked.outcome_note = note
    locked.closed_at = timezone.now()
    locked.acknowledged_at = locked.acknowledged_at or locked.closed_at
    locked.save()
    if outcome == RightsRequest.Outcome.REFUSED:  # an archive built before the refusal is not handed out
        locked.exports.filter(expires_at__gt=locked.closed_at).update(expires_at=locked.closed_at)
    audit_record(
        actor=actor, action="privacy.request_close", obj=locked, location_id=locked.location_id, context=context,
        metadata={"outcome": outcome},
    )  # fmt: skip
    return locked


def _require_every_branch(actor: User, what: str) -> None:
    """Exports and erasures reach the patient's records at every branch (see `answers_for_every_branch`)."""
    if not answers_for_every_branch(actor):
        raise ValidationError(
            f"Only a privacy manager who works at every branch can {what}: it covers every branch's records."
        )


def _in_progress(locked: RightsRequest) -> None:
    locked.acknowledged_at = locked.acknowledged_at or timezone.now()
    if locked.status in (Status.RECEIVED, Status.ACKNOWLEDGED):
        locked.status = Status.IN_PROGRESS


# --- correction ------------------------------------------------------------------------------------


@transaction.atomic
def rights_request_correct(
    *, request: RightsRequest, actor: User, reason: str, fields: dict[str, Any], context: AuditContext | None = None
) -> RightsRequest:
    """Answer a correction request: a versioned, audited change of the patient's details."""
    locked = _locked(request)
    if locked.kind != Kind.CORRECTION or locked.patient is None:
        raise ValidationError("Only a correction request about a patient corrects details.")
    require_patient_access(actor, locked.patient)
    correction = patient_correct(
        patient=locked.patient, actor=actor, reason=reason, reference=locked.reference, context=context, **fields
    )
    if correction is None:
        raise ValidationError("Nothing changed: the details are already as entered.")
    _in_progress(locked)
    locked.save()
    audit_record(
        actor=actor, action="privacy.request_correct", obj=locked, location_id=locked.location_id, context=context,
        metadata={"version": correction.version}, changed_fields=sorted(correction.changes),
    )  # fmt: skip
    return locked


# --- erasure or restriction ---------------------------------------------------------------------------


def erasure_decision(patient: Patient, today: dt.date) -> list[registry.Hold]:
    """What the law still makes the clinic keep: empty means the patient's data may be erased."""
    return registry.retention_holds(patient, today)


def _hold_sentence(holds: list[registry.Hold]) -> str:
    parts = [f"{hold.source} must be kept until {hold.until:%d %b %Y}" for hold in holds]
    return "Retention law: " + "; ".join(parts) + "."


@transaction.atomic
def rights_request_erase(*, request: RightsRequest, actor: User, context: AuditContext | None = None) -> RightsRequest:
    """Answer an erasure request. Where the retention law makes the clinic keep clinical records
    (10 years after the last encounter; minors until 10 years after they turn 18) or billing
    records (8 years after their financial year), the patient is restricted instead (hidden from
    search, no messages) with that reason. Otherwise every registered source deletes the patient's
    records, messages and files; the audit log keeps only that an erasure happened (counts)."""
    locked = _locked(request)
    if locked.kind != Kind.ERASURE or locked.patient is None:
        raise ValidationError("Only an erasure request about a patient erases or restricts.")
    _require_every_branch(actor, "erase or restrict the patient's records")
    patient = Patient.objects.select_for_update().get(pk=locked.patient.pk)
    require_patient_access(actor, patient)
    if patient.legal_hold_at is not None:
        raise ValidationError("The patient is under legal hold: nothing may be erased until the hold is released.")
    if patient.merged_into_id is not None:
        raise ValidationError("This record was merged into another: answer the request on the surviving record.")
    holds = erasure_decision(patient, timezone.localdate())
    now = timezone.now()
    if holds:
        reason = _hold_sentence(holds)
        patient_restrict(patient=patient, actor=actor, reason=reason, context=context)
        locked.outcome = RightsRequest.Outcome.RESTRICTED
        locked.outcome_note = reason
        metadata: dict[str, Any]
        action, metadata = "privacy.request_restrict", {"kept": [hold.until.isoformat() for hold in holds]}
    else:
        try:
            counts = registry.erase_patient_data(patient)
        except (ProtectedError, RestrictedError) as exc:
            raise ValidationError(
                "Some records of this patient belong to an app that has not registered how to erase them; "
                "nothing was erased."
            ) from exc
        locked.patient = None  # the row is gone (the foreign key was set to null)
        locked.outcome = RightsRequest.Outcome.ERASED
        locked.outcome_note = "The patient's records, messages and files were deleted."
        action, metadata = "privacy.request_erase", {"rows": counts}
    locked.status = Status.COMPLETED
    locked.closed_at = now
    locked.acknowledged_at = locked.acknowledged_at or now
    locked.save()
    audit_record(
        actor=actor, action=action, obj=locked, location_id=locked.location_id, context=context, metadata=metadata
    )
    return locked


# --- exports -----------------------------------------------------------------------------------------


@transaction.atomic
def export_start(*, request: RightsRequest, actor: User, context: AuditContext | None = None) -> PatientExport:
    """Queue the building of the patient's archive (a Celery task on the maintenance queue)."""
    locked = _locked(request)
    if locked.kind not in EXPORT_KINDS or locked.patient is None:
        raise ValidationError("Only an access or portability request about a patient has an export.")
    _require_every_branch(actor, "build the patient's archive")
    require_patient_access(actor, locked.patient)
    if locked.exports.filter(status__in=[PatientExport.Status.QUEUED, PatientExport.Status.RUNNING]).exists():
        raise ValidationError("An export of this request is already being built.")
    export = PatientExport.objects.create(request=locked, created_by=actor, step="Waiting for a worker")
    _in_progress(locked)
    locked.save()
    audit_record(
        actor=actor, action="privacy.export_start", obj=export, location_id=locked.location_id, context=context
    )
    pk = str(export.pk)

    def enqueue() -> None:
        from privacy.tasks import export_build_task

        export_build_task.delay(pk)

    transaction.on_commit(enqueue)
    return export


def export_link_days() -> int:
    return int(settings.PRIVACY_EXPORT_LINK_DAYS)


@transaction.atomic
def export_download_record(*, export: PatientExport, actor: User, context: AuditContext | None = None) -> None:
    PatientExport.objects.filter(pk=export.pk).update(download_count=export.download_count + 1)
    audit_record(
        actor=actor, action="privacy.export_download", obj=export, location_id=export.request.location_id,
        context=context,
    )  # fmt: skip


# --- settings ----------------------------------------------------------------------------------------


@transaction.atomic
def privacy_settings_update(*, actor: User, context: AuditContext | None = None, **values: int) -> PrivacySettings:
    current = PrivacySettings.objects.select_for_update().order_by("pk").first() or PrivacySettings()
    changed = []
    for name, value in values.items():
        if getattr(current, name) != value:
            setattr(current, name, value)
            changed.append(name)
    current.full_clean()
    if current.clinical_retention_years < settings.RETENTION_CLINICAL_YEARS:
        raise ValidationError(
            {"clinical_retention_years": "Clinical records may only be kept longer than the law's minimum."}
        )
    if current.billing_retention_years < settings.RETENTION_BILLING_YEARS:
        raise ValidationError(
            {"billing_retention_years": "Billing records may only be kept longer than the law's minimum."}
        )
    current.save()
    if changed:
        audit_record(
            actor=actor, action="privacy.settings_update", obj=current, changed_fields=changed, context=context
        )
    return current
