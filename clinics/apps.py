from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "clinics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinics import checks  # noqa: F401
        from clinics.services import clinic_data_key, clinic_owning_schema, vendor_route_clinic
        from docos import crypto, webhooks

        crypto.register_data_key_provider(clinic_data_key)
        crypto.register_clinic_lookup(clinic_owning_schema)
        # Vendor webhooks (public domain) find their clinic through the public routing table.
        webhooks.register_tenant_resolver(vendor_route_clinic)
        # DocOS subscriptions: the platform Razorpay account's events (billing registers the vendor).
        from clinics.subscriptions import register_handlers

        register_handlers()
