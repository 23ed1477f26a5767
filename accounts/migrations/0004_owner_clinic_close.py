"""Existing clinics' built-in owner role gets `clinic.close` (off-boarding), as docos.capabilities.BUILTIN_ROLES
gives new clinics' owners. No other role gets it."""

from django.db import migrations


def add_close_capability(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for role in Role.objects.filter(slug="owner", is_builtin=True):
        if "clinic.close" not in role.capabilities:
            role.capabilities = sorted(set(role.capabilities) | {"clinic.close"})
            role.save(update_fields=["capabilities"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_language")]

    operations = [migrations.RunPython(add_close_capability, migrations.RunPython.noop)]
