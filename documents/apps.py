from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents, consents and certificates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from documents import chart

        chart.register()

        # What this app holds about a patient (export, restriction, erasure, retention).
        from documents import privacy

        privacy.register()
