"""Clinic-keyed fields: encrypted with the data key of the clinic that owns the schema, so crypto-shredding
a clinic makes its clinical text unreadable; and the migration that encrypts rows already there."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from clinical.models import Visit
from clinics.models import Clinic
from clinics.services import clinic_destroy_data_key
from docos import crypto
from patients.models import Patient
from tests.clinical.clinical_helpers import draft_visit, make_patient
from tests.docos.crypto_helpers import made_with, raw_value, set_raw_value

ALLERGIES = "Sulfonamides: Stevens-Johnson syndrome"


def _fresh(seeded) -> Clinic:
    # Never change the session-wide seeded Clinic object: a destroyed key would leak into other tests.
    return Clinic.objects.get(pk=seeded.clinic.pk)


def test_clinic_keyed_ciphertext_names_no_ring_key(clinic_a):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    raw = raw_value(clinic_a.schema, "patients_patient", "allergies", patient.pk)
    assert raw is not None and raw[:1] == crypto.CLINIC_FIELD_PREFIX and not made_with(raw, "test1")
    with pytest.raises(crypto.DecryptionError):
        crypto.key_id_of(raw)


def test_crypto_shredding_the_clinic_makes_its_clinical_text_unreadable(clinic_a):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    doctor = clinic_a.users["doctor"]
    with tenant_context(clinic_a.clinic):
        user = User.objects.get(pk=doctor.pk)
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        user.save()
        assert Patient.objects.get(pk=patient.pk).allergies == ALLERGIES

    clinic_destroy_data_key(clinic=_fresh(clinic_a))

    shredded = _fresh(clinic_a)
    with tenant_context(shredded):  # as a request or task loads the clinic
        loaded = Patient.objects.get(pk=patient.pk)
        assert loaded.given_name == "Asha"  # plain columns still read
        with pytest.raises(crypto.DataKeyUnavailableError, match="destroyed"):
            _ = loaded.allergies
        with pytest.raises(crypto.DataKeyUnavailableError, match="destroyed"), transaction.atomic():
            Patient.objects.create(
                mrn="T-SHRED-2", given_name="Nina", registered_location=clinic_a.locations[0], allergies="New text"
            )
        # Ring-keyed credentials are not clinical data and do not depend on the clinic key.
        assert User.objects.get(pk=doctor.pk).totp_secret == "JBSWY3DPEHPK3PXP"
    with schema_context(clinic_a.schema):  # no clinic object on the connection: looked up by schema
        with pytest.raises(crypto.DataKeyUnavailableError, match="destroyed"):
            _ = Patient.objects.get(pk=patient.pk).allergies


def test_value_copied_to_another_clinic_fails_to_decrypt(clinic_a, clinic_b):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    twin = make_patient(clinic_b, id=patient.pk, mrn=patient.mrn)  # same table, column and key
    stolen = raw_value(clinic_a.schema, "patients_patient", "allergies", patient.pk)
    set_raw_value(clinic_b.schema, "patients_patient", "allergies", twin.pk, stolen)
    with tenant_context(clinic_b.clinic):
        with pytest.raises(crypto.DecryptionError, match="t_beta"):
            _ = Patient.objects.get(pk=twin.pk).allergies


def test_row_loaded_in_a_clinic_still_reads_after_leaving_it(clinic_a):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    with tenant_context(clinic_a.clinic):
        loaded = Patient.objects.get(pk=patient.pk)
    connection.set_schema_to_public()
    assert loaded.allergies == ALLERGIES  # the clinic is found by the schema the row came from


def test_a_schema_without_a_clinic_has_no_data_key(clinic_a):
    for schema in ("public", "clinic_template", "t_nowhere"):
        with pytest.raises(crypto.DataKeyUnavailableError, match="No clinic owns"):
            crypto.encrypt_field(b"text", b"aad", clinic_schema=schema)


def _migrate(target: tuple[str, str]) -> None:
    # The test's own inserts left deferred FK checks pending, which a real migration would not see;
    # run them (constraints stay deferred, so the migration meets them as in production).
    connection.check_constraints()
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _migrate_to_latest() -> None:
    """Back to every app's newest migration: going back to an old one also unapplied the later
    migrations of other apps that depend on it, and the rest of the session needs the full schema.
    One migration at a time, as migrate_schemas commits each: a data migration's updates leave
    deferred FK checks pending in the test's single transaction, which a later ALTER TABLE refuses."""
    executor = MigrationExecutor(connection)
    for migration, _backwards in executor.migration_plan(executor.loader.graph.leaf_nodes()):
        _migrate((migration.app_label, migration.name))


def test_migration_encrypts_rows_written_before_it_and_reverses(clinic_a):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    other = make_patient(clinic_a, given_name="Ravi")
    with schema_context(clinic_a.schema):  # as migrate_schemas runs: no clinic object on the connection
        _migrate(("patients", "0003_patientaccessgrant"))  # backwards: values decrypted into text columns again
        with connection.cursor() as cursor:
            cursor.execute("SELECT allergies, chronic_conditions FROM patients_patient WHERE id = %s", [patient.pk])
            assert cursor.fetchone() == (ALLERGIES, "")
            # Rows written while the columns were plain text, as on a development database with demo data.
            cursor.execute(
                "UPDATE patients_patient SET chronic_conditions = %s WHERE id = %s", ["Asthma\\since 2019", other.pk]
            )
        _migrate(("patients", "0004_encrypt_allergies_and_conditions"))
        _migrate_to_latest()
    for pk, column, text in ((patient.pk, "allergies", b"Stevens"), (other.pk, "chronic_conditions", b"Asthma")):
        raw = raw_value(clinic_a.schema, "patients_patient", column, pk)
        assert raw is not None and crypto.is_clinic_keyed(raw) and text not in raw
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.get(pk=patient.pk).allergies == ALLERGIES
        assert Patient.objects.get(pk=other.pk).chronic_conditions == "Asthma\\since 2019"
        assert Patient.objects.get(pk=other.pk).allergies == ""


def test_clinical_migration_encrypts_json_diagnoses_and_moves_ring_notes_to_the_clinic_key(clinic_a):
    diagnoses = [{"text": "Viral fever", "icd10": "B34.9"}]
    visit = draft_visit(clinic_a, make_patient(clinic_a), diagnoses=diagnoses, notes={"plan": "Rest, fluids"})
    with schema_context(clinic_a.schema):
        _migrate(("clinical", "0001_initial"))  # backwards: notes on the ring, diagnoses jsonb, the rest text
        assert made_with(raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk), "test1")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT diagnoses -> 0 ->> 'icd10', chief_complaint FROM clinical_visit WHERE id = %s", [visit.pk]
            )
            assert cursor.fetchone() == ("B34.9", "Fever for 3 days")
        _migrate(("clinical", "0002_encrypt_clinical_text"))
        _migrate_to_latest()
    for column in ("notes", "diagnoses", "chief_complaint"):
        raw = raw_value(clinic_a.schema, "clinical_visit", column, visit.pk)
        assert raw is not None and crypto.is_clinic_keyed(raw), column
    with tenant_context(clinic_a.clinic):
        stored = Visit.objects.get(pk=visit.pk)
        assert (stored.notes, stored.diagnoses, stored.chief_complaint) == (
            {"plan": "Rest, fluids"},
            diagnoses,
            "Fever for 3 days",
        )


def _stale_key_cached_for(schema: str) -> None:
    """What a process holds when a clinic was re-created under the same schema name elsewhere."""
    stale = AESGCM(crypto.new_data_key())
    crypto._field_ciphers[schema] = (time.monotonic() + 60, b"wrapped key of a deleted clinic", stale)


def test_a_stale_cached_key_is_never_used_to_write(clinic_a):
    _stale_key_cached_for(clinic_a.schema)
    patient = make_patient(clinic_a, allergies=ALLERGIES)  # the writing connection's clinic wins
    crypto.forget_clinic_key(clinic_a.schema)
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.get(pk=patient.pk).allergies == ALLERGIES


def test_a_value_that_fails_with_a_cached_key_is_retried_with_the_key_looked_up_afresh(clinic_a):
    patient = make_patient(clinic_a, allergies=ALLERGIES)
    _stale_key_cached_for(clinic_a.schema)
    with schema_context(clinic_a.schema):
        assert Patient.objects.get(pk=patient.pk).allergies == ALLERGIES
