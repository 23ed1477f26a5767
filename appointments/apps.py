from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments.dashboard import today_panel
        from docos.dashboard import register_panel

        register_panel("appointments.today", today_panel)

        # What this app holds about a patient (export, restriction, erasure, retention).
        from appointments import privacy

        privacy.register()

        # "Sign and next patient" on the consultation screen (clinical) posts to the queue.
        from appointments import consult_flow

        consult_flow.register()

        # Reminder statuses follow their WhatsApp message (delivery receipts arrive via messaging).
        from appointments.reminders import reminder_follow_message
        from messaging.services import register_status_listener

        register_status_listener("appointments.reminder", reminder_follow_message)

        # The reminder's Confirm / Cancel / Reschedule buttons, pressed on WhatsApp.
        from appointments.whatsapp_replies import PREFIX, answer_button
        from messaging.replies import register_reply_handler

        register_reply_handler(PREFIX, answer_button)

        # A booking at a branch makes the patient visible there (front desk checks them in).
        from django.db.models import Exists, OuterRef

        from appointments.models import Appointment
        from patients.access import register_location_link

        register_location_link(
            lambda ids: Exists(Appointment.objects.filter(patient_id=OuterRef("pk"), location_id__in=ids))
        )
