"""Recompute every patient's search words once more: they now hold the initials of neighbouring
words ("^sk" for Sunil Kumar), so "SK Reddy" and "S K Reddy" are index lookups."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from patients.services import patient_search_keys_rebuild

    patient_search_keys_rebuild(
        patient_model=apps.get_model("patients", "Patient"), word_model=apps.get_model("patients", "PatientNameWord")
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_recompute_search_keys")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
