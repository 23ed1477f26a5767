from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "clinics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinics import checks  # noqa: F401
        from clinics.services import clinic_data_key, clinic_owning_schema
        from docos import crypto

        crypto.register_data_key_provider(clinic_data_key)
        crypto.register_clinic_lookup(clinic_owning_schema)
