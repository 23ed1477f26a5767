from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing import chart
        from billing.dashboard import collections_panel
        from docos.dashboard import register_panel

        chart.register()
        register_panel("billing.collections", collections_panel)
