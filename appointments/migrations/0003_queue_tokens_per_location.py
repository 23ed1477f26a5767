"""Queue tokens run per location and day across its doctors (the waiting room showed two "1"s).

Existing days are renumbered in arrival order so the new unique constraint holds; a token is a
day's ticket number, not a reference kept anywhere else."""

from django.db import migrations, models


def renumber(apps, schema_editor):
    QueueEntry = apps.get_model("appointments", "QueueEntry")
    days = QueueEntry.objects.values_list("location_id", "day").distinct()
    for location_id, day in days:
        entries = QueueEntry.objects.filter(location_id=location_id, day=day).order_by("created_at", "token", "pk")
        for number, entry in enumerate(entries, start=1):
            if entry.token != number:
                QueueEntry.objects.filter(pk=entry.pk).update(token=number)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0002_encrypt_notes_with_clinic_key")]

    operations = [
        migrations.RemoveConstraint(model_name="queueentry", name="queue_token_unique"),
        migrations.RunPython(renumber, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="queueentry",
            constraint=models.UniqueConstraint(fields=("location", "day", "token"), name="queue_token_unique"),
        ),
        migrations.AlterField(
            model_name="queueentry",
            name="status",
            field=models.CharField(
                choices=[
                    ("waiting", "Waiting"),
                    ("in_consultation", "In consultation"),
                    ("done", "Done"),
                    ("left", "Left without being seen"),
                ],
                default="waiting",
                max_length=16,
            ),
        ),
    ]
