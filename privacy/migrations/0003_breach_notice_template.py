"""Existing clinics get the breach-notice WhatsApp template (a draft to submit to Meta); new clinics
get it from the clinic seed (privacy.notices.install_notice_template). The text is copied here, as
it was when this migration was written, so later edits of the code do not change history."""

from django.db import migrations

TEMPLATE = {
    "category": "UTILITY",
    "body": (
        "Namaste {{1}}, {{2}} must inform you of a personal data breach that involves your information. {{3}} "
        "We are sorry. Reply to this message if you have any questions."
    ),
    "variables": ["first_name", "clinic", "notice"],
    "examples": [
        "Asha",
        "Sunrise Clinic",
        "What happened: on 3 Dec 2026 we found that a staff account was used by someone else. "
        "Contact: privacy@sunrise.example.in.",
    ],
}


def install(apps, schema_editor):
    from django.conf import settings

    if schema_editor.connection.schema_name in (settings.TENANT_BASE_SCHEMA, "public"):
        return  # the template schema new clinics are cloned from holds no rows
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    MessageTemplate.objects.get_or_create(name="data_breach_notice", language="en", defaults=TEMPLATE)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_outbound_document_kind"),
        ("privacy", "0002_breach_register"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
