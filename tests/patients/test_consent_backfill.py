"""Migration patients/0014_consent_log_backfill: the consent log starts from the WhatsApp consent
fields (a grant with its time, notice version, channel and taker; a withdrawal for a later opt-out;
a minor's grant is the named guardian's), once per patient, and never in public or the template."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from patients import consents
from patients.models import PatientConsent
from tests.appointments.helpers import make_patient

backfill = importlib.import_module("patients.migrations.0014_consent_log_backfill").backfill

AGREED = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
OUT = dt.datetime(2025, 9, 12, 18, 0, tzinfo=dt.UTC)


def _run():
    backfill(apps, SimpleNamespace(connection=connection))


def test_the_backfill_turns_the_whatsapp_fields_into_log_rows_once(clinic_a):
    desk = clinic_a.users["front_desk"]
    agreed = make_patient(
        clinic_a, consent=False, whatsapp_consent_at=AGREED, whatsapp_consent_source="paper",
        whatsapp_consent_notice_version="2025-1", whatsapp_consent_taken_by=desk,
    )  # fmt: skip
    left = make_patient(
        clinic_a, consent=False, whatsapp_consent_at=AGREED, whatsapp_consent_source="whatsapp",
        whatsapp_opted_out_at=OUT,
    )  # fmt: skip
    child = make_patient(
        clinic_a, consent=False, date_of_birth=dt.date(2015, 1, 1), phone="", guardian_name="Meera Joshi",
        guardian_relation="Mother", guardian_phone="+919845099900", whatsapp_consent_at=AGREED,
        whatsapp_consent_source="registration",
    )  # fmt: skip
    never = make_patient(clinic_a, consent=False)
    with tenant_context(clinic_a.clinic):
        _run()
        _run()  # patients with rows are left alone
        (grant,) = PatientConsent.objects.filter(patient=agreed)
        assert (grant.purpose, grant.action, grant.channel, grant.notice_version) == (
            "whatsapp_reminders", "granted", "paper", "2025-1",
        )  # fmt: skip
        assert grant.recorded_at == AGREED and grant.recorded_by_id == desk.pk and grant.given_by == "patient"
        assert [(r.action, r.recorded_at) for r in PatientConsent.objects.filter(patient=left)] == [
            ("withdrawn", OUT), ("granted", AGREED),
        ]  # fmt: skip
        assert consents.consent_allows(left, "whatsapp_reminders") == (False, "consent_withdrawn")
        (child_grant,) = PatientConsent.objects.filter(patient=child)
        assert (child_grant.given_by, child_grant.guardian_name, child_grant.channel) == (
            "guardian", "Meera Joshi", "in_person",
        )  # fmt: skip
        assert not PatientConsent.objects.filter(patient=never).exists()


def test_the_backfill_skips_public_and_the_template_schema(clinic_a):
    make_patient(clinic_a, consent=False, whatsapp_consent_at=AGREED, whatsapp_consent_source="paper")
    with tenant_context(clinic_a.clinic):
        for schema in ("public", settings.TENANT_BASE_SCHEMA):
            backfill(apps, SimpleNamespace(connection=SimpleNamespace(schema_name=schema)))
        assert not PatientConsent.objects.exists()
