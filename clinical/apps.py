from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    verbose_name = "Clinical records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinical import chart

        chart.register()

        # What this app holds about a patient (export, restriction, erasure, retention).
        from clinical import privacy

        privacy.register()

        from clinical.dashboard import clinical_panel
        from docos.dashboard import register_panel

        register_panel("clinical.work", clinical_panel)
