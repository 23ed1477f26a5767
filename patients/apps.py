from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The patient-data registry: the registration itself is one source, and the clinical-records
        # retention rule purges whatever CLINICAL sources the other apps register.
        from docos.crypto import register_subject_key_store
        from patients.file_keys import PatientFileKeyStore
        from patients.registry import register_patients_source
        from patients.retention import register_clinical_rule

        register_subject_key_store(PatientFileKeyStore())
        # A clinic export leaves out the patients' file keys (wrapped by the clinic's data key, which the
        # off-boarding destroys); a restore stores every file again under fresh keys.
        from clinics.archive import register_regenerated_column
        from patients.models import PatientFileKey

        register_regenerated_column(PatientFileKey._meta.db_table, "wrapped_key")
        register_patients_source()
        register_clinical_rule()
