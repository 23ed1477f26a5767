from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy and patients' rights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Overdue rights requests and grievances on the home dashboard.
        from docos.dashboard import register_panel
        from privacy.dashboard import breach_panel, privacy_panel

        register_panel("privacy.requests", privacy_panel)
        register_panel("privacy.breaches", breach_panel)

        # The clinic's own (longer) retention periods, read by the registry's retention rules.
        from patients.registry import register_retention_setting
        from privacy.selectors import configured_retention_years

        register_retention_setting(configured_retention_years)

        # An access archive's file is deleted when its link expires.
        from privacy.retention import register_export_rule

        register_export_rule()

        # The breach register: notices that WhatsApp failed to deliver go to the printed letters;
        # every new clinic gets the notice template (a draft to submit to Meta); what the register
        # holds about a patient is exported and erased with the rest of their data.
        from docos.clinic_seeds import register_clinic_seed
        from messaging.services import register_status_listener
        from privacy import notices
        from privacy.breach_data import register_breach_source

        register_status_listener("privacy.affectedpatient", notices.notice_message_status)
        register_clinic_seed("privacy.breach_notice_template", notices.install_notice_template)
        register_breach_source()

        # A clinic's off-boarding export carries each patient's records and FHIR bundle.
        from clinics.archive import register_patient_sections
        from privacy.export import clinic_patient_sections

        register_patient_sections("privacy.patient_records", clinic_patient_sections)
