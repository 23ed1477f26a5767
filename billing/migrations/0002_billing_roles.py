"""Existing clinics' built-in roles get the billing capabilities of docos.capabilities (added with
billing: `billing.manage`; the new built-in role "Accounts"). Only built-in roles change, only by
adding; a clinic without roles (the template schema) is left alone."""

from django.db import migrations

ADD = {
    "owner": ["billing.view", "billing.collect", "billing.refund", "billing.manage"],
    "administrator": ["billing.view", "billing.collect", "billing.refund", "billing.manage"],
}
ACCOUNTS = [
    "billing.collect",
    "billing.manage",
    "billing.refund",
    "billing.view",
    "messaging.send",
    "messaging.view",
    "patients.view",
]


def forwards(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    if not Role.objects.filter(is_builtin=True).exists():
        return
    for slug, codes in ADD.items():
        for role in Role.objects.filter(slug=slug, is_builtin=True):
            role.capabilities = sorted(set(role.capabilities) | set(codes))
            role.save(update_fields=["capabilities"])
    if not Role.objects.filter(slug="accounts").exists():
        Role.objects.create(slug="accounts", name="Accounts", capabilities=ACCOUNTS, is_builtin=True)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("accounts", "0003_user_language")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
