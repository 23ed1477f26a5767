from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from billing import chart, checks, payment_links, razorpay, verification  # noqa: F401  (checks register)
        from billing.dashboard import collections_panel
        from docos import webhooks
        from docos.dashboard import register_panel

        chart.register()
        from billing import sending

        sending.register()  # the invoice PDF on WhatsApp (messaging's outbox and the chart's "Send PDF")
        verification.register()

        # What this app holds about a patient (export, restriction, erasure, retention).
        from billing import privacy

        privacy.register()
        register_panel("billing.collections", collections_panel)

        # Razorpay webhooks: each clinic's account signs with its own secret, so they are routed by
        # the URL path (/webhooks/razorpay/<route key>/); see billing.payment_links.
        webhooks.register_vendor(
            webhooks.WebhookVendor(
                name=razorpay.VENDOR,
                enabled=lambda: bool(settings.RAZORPAY_ENABLED),
                secret=lambda: "",
                signature_header="HTTP_X_RAZORPAY_SIGNATURE",
                signature_prefix="",  # the bare hex digest
                event_id=razorpay.webhook_event_id,
                parse=razorpay.parse_webhook,
                account_secret=payment_links.webhook_secrets_for_route,
            )
        )
        for kind, handler in (
            ("payment_link.paid", payment_links.on_payment_link_paid),
            ("payment.captured", payment_links.on_payment_captured),
            ("payment.failed", payment_links.on_payment_failed),
            ("refund.processed", payment_links.on_refund_processed),
            ("payment_link.cancelled", payment_links.on_payment_link_closed),
            ("payment_link.expired", payment_links.on_payment_link_closed),
        ):
            webhooks.register_handler(razorpay.VENDOR, kind, handler)

        # DocOS subscriptions: the platform's own Razorpay account, one webhook secret, one URL
        # (/webhooks/razorpay/platform/); clinics owns the handlers and reaches Razorpay through
        # the gateway registered here (clinics sits below billing).
        from clinics import gateway

        gateway.register_gateway(razorpay.PlatformSubscriptions())
        webhooks.register_vendor(
            webhooks.WebhookVendor(
                name=gateway.PLATFORM_VENDOR,
                enabled=lambda: bool(settings.RAZORPAY_PLATFORM_WEBHOOK_SECRET),
                secret=lambda: str(settings.RAZORPAY_PLATFORM_WEBHOOK_SECRET),
                signature_header="HTTP_X_RAZORPAY_SIGNATURE",
                signature_prefix="",
                event_id=razorpay.webhook_event_id,
                parse=razorpay.parse_platform_webhook,
            )
        )

        # A clinic export leaves out the Razorpay secrets (whoever holds the ZIP could refund payments
        # or forge webhooks); after a restore the clinic enters them again in Settings → Razorpay.
        from billing.models import RazorpayAccount
        from clinics.archive import register_regenerated_column

        for column in ("key_secret", "webhook_secret", "previous_webhook_secret"):
            register_regenerated_column(RazorpayAccount._meta.db_table, column)
