"""Existing clinics' built-in roles get the imaging capabilities of docos.capabilities (added with
imaging). Only built-in roles change, only by adding; a clinic without roles (the template schema)
is left alone. New clinics get them from docos.capabilities.BUILTIN_ROLES when they are created."""

from django.db import migrations

ADD = {
    "owner": ["imaging.view", "imaging.upload"],
    "administrator": ["imaging.view", "imaging.upload"],
    "doctor": ["imaging.view", "imaging.upload"],
    "nurse": ["imaging.view", "imaging.upload"],
    "front_desk": ["imaging.upload"],
}


def forwards(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for slug, codes in ADD.items():
        for role in Role.objects.filter(slug=slug, is_builtin=True):
            role.capabilities = sorted(set(role.capabilities) | set(codes))
            role.save(update_fields=["capabilities"])


class Migration(migrations.Migration):
    dependencies = [("imaging", "0001_initial"), ("accounts", "0003_user_language")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
