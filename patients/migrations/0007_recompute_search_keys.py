"""Recompute every patient's search keys for the new rules (v and w meet b, Aiyar/Iyer, spelled
prefixes for ranking) and rebuild the typo vocabulary with its one-edit index."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from patients.services import patient_search_keys_rebuild

    patient_search_keys_rebuild(
        patient_model=apps.get_model("patients", "Patient"), word_model=apps.get_model("patients", "PatientNameWord")
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_name_word_deletes"), ("patients", "0006_whatsapp_consent_taken_by")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
