from django.apps import AppConfig


class DocosConfig(AppConfig):
    """The shared kernel as an app: its system checks, management commands and Sentry start-up."""

    name = "docos"
    verbose_name = "DocOS kernel"

    def ready(self) -> None:
        from docos import checks, sentry  # noqa: F401  (checks register themselves)

        sentry.init_from_settings()
