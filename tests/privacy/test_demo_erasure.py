"""The whole demo clinic (every app's demo data: visits, signed prescriptions, consents and
certificates, appointments and reminders, WhatsApp conversations, invoices paid every way) goes
through the registry: each demo patient's archive builds with a valid FHIR bundle, and once the
retention periods are over every patient is erased without an app's rows standing in the way."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.apps import apps
from django.test import TestCase
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from clinics.demo import DEMO_STAFF
from clinics.models import Clinic
from patients.models import Patient
from privacy.export import export_build
from privacy.models import AffectedPatient, BreachIncident, PatientExport, RightsRequest
from privacy.services import rights_request_erase
from tests.billing.billing_helpers import set_gstin
from tests.clinical.clinical_helpers import REG_NO, clinic_files  # noqa: F401  (fixture)
from tests.privacy.helpers import owner, request_for

pytestmark = pytest.mark.usefixtures("clinic_files")


def _seed_demo(seeded) -> None:
    import importlib

    set_gstin(seeded)
    with tenant_context(seeded.clinic):
        Location.objects.filter(name="Main branch").update(name="Koramangala")
        Location.objects.filter(name="East branch").update(name="Indiranagar")
        for role, email, name, reg_no, quals, branch in DEMO_STAFF:
            user = User.objects.create_user(
                email, None, full_name=name, role=Role.objects.get(slug=role),
                registration_number=reg_no or (REG_NO if role == "doctor" else ""), qualifications=quals,
            )  # fmt: skip
            if branch:
                user.locations.set(Location.objects.filter(name=branch))
        Clinic.objects.filter(pk=seeded.clinic.pk).update(gstin="29AAGCS1234K1Z7")
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError:
                continue
            if config.name != "clinics" and hasattr(module, "seed"):
                module.seed(seeded.clinic)


def test_every_demo_patient_exports_and_is_erased_once_retention_is_over(clinic_a, clock):
    _seed_demo(clinic_a)
    with tenant_context(clinic_a.clinic):
        assert RightsRequest.objects.filter(kind="access").exists()  # privacy's own demo ran
        assert RightsRequest.objects.filter(kind="grievance", status__in=RightsRequest.OPEN).exists()
        breach = BreachIncident.objects.get()  # contained, its patients from the access log, CERT-In reported
        assert breach.status == "contained" and breach.cert_in_reported_at and breach.board_reported_at is None
        assert breach.affected.filter(excluded=False, source="computed").count() == 3
        assert breach.affected.filter(excluded=False, source="manual").count() == 1
        assert breach.notice_updated_at is not None
        patients = list(Patient.objects.filter(merged_into__isnull=True))
        busiest = max(patients, key=lambda p: p.visits.count() + p.invoices.count() + p.signed_documents.count())
        request = request_for(clinic_a, busiest, RightsRequest.Kind.PORTABILITY)
        export = PatientExport.objects.create(request=request, created_by=owner(clinic_a))
        assert export_build(export_id=str(export.pk)) == "ready"
    with time_machine.travel(dt.datetime(2075, 6, 1, tzinfo=dt.UTC), tick=False):
        with tenant_context(clinic_a.clinic):
            for patient in patients:
                erasure = request_for(clinic_a, patient, RightsRequest.Kind.ERASURE)
                with TestCase.captureOnCommitCallbacks(execute=True):
                    done = rights_request_erase(request=erasure, actor=owner(clinic_a))
                assert done.outcome == RightsRequest.Outcome.ERASED, done.outcome_note
            assert not Patient.objects.filter(pk__in=[p.pk for p in patients]).exists()
            assert not AffectedPatient.objects.exists()  # the breach register's rows went with them
