from django.db import migrations


class Migration(migrations.Migration):
    """Per-clinic MRN counter. Each clinic schema gets its own sequence (cloned from the template)."""

    dependencies = [("patients", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS patients_mrn_seq START 1",
            reverse_sql="DROP SEQUENCE IF EXISTS patients_mrn_seq",
        )
    ]
