from django.db import migrations

# The shipped payment_link drafts ended with the link variable, which Meta refuses: drafts still
# holding the shipped text get the new one (a clinic's own edits, and submitted ones, stay).
OLD = {
    "en": "Namaste {{1}}, your bill of {{2}} at {{3}} can be paid securely here: {{4}}",
    "hi": "नमस्ते {{1}}, {{3}} का आपका {{2}} का बिल यहाँ सुरक्षित रूप से चुकाएँ: {{4}}",
}
NEW = {
    "en": "Namaste {{1}}, your bill of {{2}} at {{3}} can be paid securely here: {{4}} Thank you.",
    "hi": "नमस्ते {{1}}, {{3}} का आपका {{2}} का बिल यहाँ सुरक्षित रूप से चुकाएँ: {{4}} धन्यवाद।",
}


def forwards(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for language, body in OLD.items():
        MessageTemplate.objects.filter(name="payment_link", language=language, status="draft", body=body).update(
            body=NEW[language]
        )


def backwards(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for language, body in NEW.items():
        MessageTemplate.objects.filter(name="payment_link", language=language, status="draft", body=body).update(
            body=OLD[language]
        )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_message_templates")]

    operations = [migrations.RunPython(forwards, backwards)]
