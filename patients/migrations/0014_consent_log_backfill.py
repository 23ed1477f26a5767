"""The consent log starts from what the WhatsApp consent fields say: for every patient with a
recorded consent, a `whatsapp_reminders` grant (its time, notice version, source and the staff member
who took it); for an opt-out after it, a withdrawal. A minor's grant is the guardian's when the
record names one. Runs in each clinic's schema (the patients app is tenant-only); the template
schema and public hold no patients. Patients that already have rows are left alone."""

import datetime as dt

from django.db import migrations

CHANNELS = {
    "registration": "in_person",
    "verbal": "in_person",
    "paper": "paper",
    "whatsapp": "whatsapp",
    "import": "import",
    "api": "api",
}


def _minor_on(dob, moment):
    if dob is None:
        return False
    day = moment.date()
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day)) < 18


def backfill(apps, schema_editor):
    from django.conf import settings

    if schema_editor.connection.schema_name in (settings.TENANT_BASE_SCHEMA, "public"):
        return
    Patient = apps.get_model("patients", "Patient")
    PatientConsent = apps.get_model("patients", "PatientConsent")
    done = set(PatientConsent.objects.values_list("patient_id", flat=True).distinct())
    rows = []
    patients = Patient.objects.filter(whatsapp_consent_at__isnull=False) | Patient.objects.filter(
        whatsapp_opted_out_at__isnull=False
    )
    for patient in patients.iterator(chunk_size=2000):
        if patient.pk in done:
            continue
        granted = patient.whatsapp_consent_at
        if granted is not None:
            guardian = _minor_on(patient.date_of_birth, granted) and bool(patient.guardian_name)
            rows.append(
                PatientConsent(
                    patient_id=patient.pk,
                    purpose="whatsapp_reminders",
                    action="granted",
                    given_by="guardian" if guardian else "patient",
                    guardian_name=patient.guardian_name if guardian else "",
                    guardian_relation=patient.guardian_relation if guardian else "",
                    notice_version=patient.whatsapp_consent_notice_version,
                    channel=CHANNELS.get(patient.whatsapp_consent_source, "unrecorded"),
                    recorded_by_id=patient.whatsapp_consent_taken_by_id,
                    recorded_at=granted,
                    note=None,
                )
            )
        out = patient.whatsapp_opted_out_at
        if out is not None:
            if granted is not None and out <= granted:
                out = granted + dt.timedelta(microseconds=1)
            rows.append(
                PatientConsent(
                    patient_id=patient.pk,
                    purpose="whatsapp_reminders",
                    action="withdrawn",
                    given_by="patient",
                    notice_version="",
                    channel="unrecorded",
                    recorded_at=out,
                    note=None,
                )
            )
        if len(rows) >= 2000:
            PatientConsent.objects.bulk_create(rows)
            rows = []
    if rows:
        PatientConsent.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("patients", "0013_consent_log")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
