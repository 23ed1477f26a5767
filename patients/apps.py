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
        register_patients_source()
        register_clinical_rule()
