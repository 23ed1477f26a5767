"""Recompute every patient's search keys: the first letter of every word key is now stored too, so
"Venkatesh Rao" (Rao's key is "r") and "Ravi K" are answered by the index instead of a check of
every Venkatesh or Ravi row."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from patients.services import patient_search_keys_rebuild

    patient_search_keys_rebuild(
        patient_model=apps.get_model("patients", "Patient"), word_model=apps.get_model("patients", "PatientNameWord")
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0009_recompute_search_keys_indic_marks")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
