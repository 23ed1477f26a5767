"""Joins the two branches of patients migrations: who took WhatsApp consent (0006) and the search
keys' typo vocabulary and recomputation (0006, 0007). No operations."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0006_whatsapp_consent_taken_by"),
        ("patients", "0007_recompute_search_keys"),
    ]

    operations = []
