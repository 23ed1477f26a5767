"""Recompute every patient's search keys once more: names in Devanagari, Tamil and other Indic
scripts keep their vowel signs and viramas (they were dropped as accents, so शर्मा was keyed शरम
and मिश्रा was cut into म and शर)."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from patients.services import patient_search_keys_rebuild

    patient_search_keys_rebuild(
        patient_model=apps.get_model("patients", "Patient"), word_model=apps.get_model("patients", "PatientNameWord")
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0008_recompute_search_keys_initials")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
