from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging (DICOM studies)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from imaging import chart, privacy

        chart.register()
        privacy.register()  # what imaging holds about a patient (export, erasure, retention)
