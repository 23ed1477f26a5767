from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from docos import webhooks
        from messaging import checks, inbound, services, whatsapp  # noqa: F401  (checks register themselves)

        # The kernel's webhook intake learns the WhatsApp signature and payloads, and whom to call.
        webhooks.register_vendor(
            webhooks.WebhookVendor(
                name=whatsapp.VENDOR,
                enabled=lambda: bool(settings.WHATSAPP_ENABLED),
                secret=lambda: str(settings.WHATSAPP_APP_SECRET or ""),
                signature_header="HTTP_X_HUB_SIGNATURE_256",
                signature_prefix="sha256=",
                # Meta sends no event id; a retry resends the same bytes, so the body's digest is one.
                event_id=webhooks.body_digest,
                parse=whatsapp.parse_webhook,
            )
        )
        webhooks.register_handler(whatsapp.VENDOR, "status", services.message_receipt_record)
        webhooks.register_handler(whatsapp.VENDOR, "message", inbound.inbound_record)
        from messaging.templates import template_status_record

        webhooks.register_handler(whatsapp.VENDOR, "template_status", template_status_record)

        from messaging.retention import register_messaging_rules

        register_messaging_rules()

        from messaging import chart

        chart.register()  # the WhatsApp panel on the patient chart

        # What this app holds about a patient (export, restriction, erasure).
        from messaging import privacy

        privacy.register()

        # Withdrawing WhatsApp (or marketing) consent fails the patient's queued notifications at once.
        from patients.consents import register_withdrawal_listener

        register_withdrawal_listener(services.outbox_consent_withdrawn)

        # A new clinic starts with the shipped message templates (drafts to submit to Meta).
        from docos.clinic_seeds import register_clinic_seed
        from messaging.templates import install_default_templates

        register_clinic_seed("messaging.templates", install_default_templates)

        # A clinic export leaves out the WhatsApp access token (whoever holds the ZIP could message
        # patients as the clinic); after a restore the clinic enters it again in Settings → WhatsApp.
        from clinics.archive import register_regenerated_column
        from messaging.models import WhatsAppAccount

        register_regenerated_column(WhatsAppAccount._meta.db_table, "access_token")
