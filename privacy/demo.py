"""Demo data for the privacy workbench: three requests at the demo clinic, one of them overdue (an
access request received ten days ago and never acknowledged) and an open grievance, so the
dashboard's panel and the overdue marking show; and one contained breach (a front-desk account used
from an unknown device) whose affected patients come from the record-access log, with its CERT-In
report made and its Data Protection Board report still due, and its notice drafted."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Location, User
from audit.models import RecordAccess
from clinics.models import Clinic
from patients.models import Patient
from privacy import breaches, notices
from privacy.models import BreachIncident, RightsRequest
from privacy.services import rights_request_acknowledge, rights_request_create


def seed(clinic: Clinic) -> dict[str, int]:
    counts = _seed_requests(clinic)
    counts.update(_seed_breach(clinic))
    return counts


def _seed_breach(clinic: Clinic) -> dict[str, int]:
    with tenant_context(clinic):
        if BreachIncident.objects.exists():
            return {}
        owner = User.objects.filter(email="owner@demo.docos.in").first()
        account = User.objects.filter(email="frontdesk@demo.docos.in").first()
        patients = list(Patient.objects.filter(merged_into__isnull=True, is_active=True).order_by("created_at")[:5])
        if owner is None or account is None or len(patients) < 4:
            return {}
        now = timezone.now().replace(second=0, microsecond=0)
        discovered = now - dt.timedelta(hours=30)
        began = discovered - dt.timedelta(hours=3)
        # What the access log holds for the hour the account was misused: three charts opened.
        for minutes, patient in zip((5, 25, 47), patients[:3], strict=True):
            at = began + dt.timedelta(minutes=minutes)
            RecordAccess.objects.get_or_create(
                user_id=account.pk, patient_id=patient.pk, window=int(at.timestamp()) // RecordAccess.WINDOW_SECONDS,
                defaults={"first_at": at, "what": "chart"},
            )  # fmt: skip
        incident = breaches.breach_create(
            actor=owner, title="Front-desk account used from an unknown device", kind=BreachIncident.Kind.STAFF_ACCOUNT,
            discovered_at=discovered, occurred_from=began, occurred_to=began + dt.timedelta(hours=1), account=account,
            description="Sign-in alert from an unrecognised browser in the evening, after the front desk had left. "
            "Password reset and sessions ended the same evening; the staff member's phone had been shared.",
        )  # fmt: skip
        breaches.breach_compute_affected(incident=incident, actor=owner)
        breaches.breach_add_patient(incident=incident, actor=owner, patient=patients[3])
        breaches.breach_set_status(incident=incident, actor=owner, status=BreachIncident.Status.CONTAINED)
        breaches.breach_mark_reported(
            incident=incident, actor=owner, target="cert_in", reported_at=discovered + dt.timedelta(hours=4),
            reference="CERTIn-2026-118734",
        )  # fmt: skip
        incident.refresh_from_db()
        notices.notice_update(
            incident=incident, actor=owner, values={name: getattr(incident, name) for name, _ in notices.SECTIONS}
        )
        return {"breaches": 1, "affected": incident.affected.filter(excluded=False).count()}


def _seed_requests(clinic: Clinic) -> dict[str, int]:
    with tenant_context(clinic):
        if RightsRequest.objects.exists():
            return {}
        owner = User.objects.filter(email="owner@demo.docos.in").first()
        location = Location.objects.filter(name="Koramangala").first() or Location.objects.first()
        patients = list(Patient.objects.filter(merged_into__isnull=True, is_active=True).order_by("created_at")[:3])
        if owner is None or location is None or len(patients) < 3:
            return {}
        now = timezone.now()
        overdue = rights_request_create(
            actor=owner, kind=RightsRequest.Kind.ACCESS, location=location, patient=patients[0],
            requester_name=patients[0].full_name, verification=RightsRequest.Verification.IN_PERSON_ID,
            requester_contact=patients[0].phone,
            details="Wants a copy of all reports and prescriptions for a second opinion at Manipal Hospital.",
            received_at=now - dt.timedelta(days=10),
        )  # fmt: skip
        correction = rights_request_create(
            actor=owner, kind=RightsRequest.Kind.CORRECTION, location=location, patient=patients[1],
            requester_name=patients[1].full_name, verification=RightsRequest.Verification.OTP_REGISTERED_PHONE,
            details="Date of birth is wrong on the record; Aadhaar card shown at the desk.",
            received_at=now - dt.timedelta(days=2),
        )  # fmt: skip
        rights_request_acknowledge(request=correction, actor=owner)
        rights_request_create(
            actor=owner, kind=RightsRequest.Kind.GRIEVANCE, location=location, patient=patients[2],
            requester_name="Suresh Menon", requester_relation=RightsRequest.Relation.GUARDIAN,
            verification=RightsRequest.Verification.GUARDIAN_PROOF, requester_contact="+919845012345",
            details="Received a WhatsApp reminder after asking the desk to stop messages for his son.",
            received_at=now - dt.timedelta(days=1),
        )  # fmt: skip
        return {"requests": 3, "overdue": int(overdue.is_overdue())}
