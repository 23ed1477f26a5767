from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Reminder statuses follow their WhatsApp message (delivery receipts arrive via messaging).
        from appointments.reminders import reminder_follow_message
        from messaging.services import register_status_listener

        register_status_listener("appointments.reminder", reminder_follow_message)
