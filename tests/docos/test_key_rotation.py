"""`manage.py encryption_rotate`: every encrypted column in every schema, and the clinic data keys.

Ring-keyed columns (TOTP secrets) are re-encrypted; clinic-keyed columns (clinical text) stay under
their clinic's data key, which is only re-wrapped, and still read once the old ring key is gone."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from clinical.models import Visit
from clinics.models import Clinic
from clinics.services import clinic_data_key
from docos import crypto
from docos.devkeys import TEST_ENCRYPTION_KEYS
from docos.management.commands import encryption_rotate
from patients.models import Patient
from tests.conftest import PASSWORD
from tests.docos.crypto_helpers import made_with, raw_value, rotated_ring, set_raw_value

NOTES = {"assessment": "Viral fever", "plan": "Rest, fluids"}


def _give_secrets(seeded, roles=("owner", "doctor", "nurse")) -> dict[str, str]:
    secrets = {}
    with tenant_context(seeded.clinic):
        for role in roles:
            user = User.objects.get(pk=seeded.users[role].pk)
            user.totp_secret = f"SECRET-{seeded.clinic.slug}-{role}"
            user.save()
            secrets[str(user.pk)] = user.totp_secret
    return secrets


def _kids(schema: str, table: str = "accounts_user", column: str = "totp_secret") -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL')
        return sorted(crypto.key_id_of(bytes(row[0])) for row in cursor.fetchall())


def _wrapped(clinic: Clinic) -> bytes:
    return bytes(Clinic.objects.values_list("wrapped_data_key", flat=True).get(pk=clinic.pk))


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("encryption_rotate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rotation_reencrypts_every_schema_and_rewraps_data_keys(clinic_a, clinic_b):
    secrets_a, secrets_b = _give_secrets(clinic_a), _give_secrets(clinic_b)
    connection.set_schema_to_public()
    staff = User.objects.create_user("ops@docos.example", PASSWORD, full_name="Ops")
    staff.totp_secret = "PLATFORM-SECRET"
    staff.save()
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(
            mrn="T-ROT-1", given_name="Meena", registered_location=clinic_a.locations[0], allergies="Sulfa drugs"
        )
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"], notes=NOTES
        )
    notes_before = raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk)
    assert notes_before is not None and crypto.is_clinic_keyed(notes_before)
    data_keys = {c.slug: clinic_data_key(c) for c in (clinic_a.clinic, clinic_b.clinic)}
    file_blob = crypto.encrypt_file(clinic_a.clinic, b"scan bytes", "xray/1.dcm")
    assert _kids(clinic_a.schema) == ["test1"] * 3

    ring = rotated_ring("k2")
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring):
        output = _rotate("--batch-size", "2")
    assert "t_alpha: accounts.User.totp_secret: 3 re-encrypted" in output
    assert "public: accounts.User.totp_secret: 1 re-encrypted" in output
    assert "clinical.Visit.notes" not in output  # under the clinic's data key: nothing to rewrite
    assert "7 value(s) re-encrypted" in output
    assert "2 clinic data key(s) re-wrapped" in output
    assert _kids(clinic_a.schema) == ["k2"] * 3
    assert _kids(clinic_b.schema) == ["k2"] * 3
    assert _kids("public") == ["k2"]
    assert raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk) == notes_before

    # The old key can now leave the ring: everything reads with the new key alone.
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring.split(",")[0]):
        # A fresh clinic row, as each request loads: its data key is now wrapped with k2.
        with tenant_context(Clinic.objects.get(pk=clinic_a.clinic.pk)):
            assert {str(u.pk): u.totp_secret for u in User.objects.exclude(totp_secret=None)} == secrets_a
            assert Visit.objects.get(pk=visit.pk).notes == NOTES
            assert Patient.objects.get(pk=patient.pk).allergies == "Sulfa drugs"
        with tenant_context(clinic_b.clinic):
            assert {str(u.pk): u.totp_secret for u in User.objects.exclude(totp_secret=None)} == secrets_b
        connection.set_schema_to_public()
        assert User.objects.get(pk=staff.pk).totp_secret == "PLATFORM-SECRET"
        for seeded in (clinic_a, clinic_b):
            fresh = Clinic.objects.get(pk=seeded.clinic.pk)
            assert made_with(_wrapped(fresh), "k2")
            assert clinic_data_key(fresh) == data_keys[fresh.slug]  # same data key, new wrapping
        assert crypto.decrypt_file(Clinic.objects.get(pk=clinic_a.clinic.pk), file_blob, "xray/1.dcm") == b"scan bytes"

    # ...and without it, they would not: the test really depends on the ring.
    with override_settings(DOCOS_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEYS), tenant_context(clinic_a.clinic):
        with pytest.raises(crypto.UnknownKeyError, match="'k2'"):
            _ = User.objects.get(pk=clinic_a.users["doctor"].pk).totp_secret


def test_rotation_resumes_after_an_interruption_and_a_rerun_has_nothing_to_do(clinic_a, monkeypatch):
    _give_secrets(clinic_a)
    real_batch = encryption_rotate.Command.rotate_batch
    calls = {"n": 0}

    def crash_on_second_batch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash (worker killed)")
        return real_batch(self, *args, **kwargs)

    with override_settings(DOCOS_ENCRYPTION_KEYS=rotated_ring("k3")):
        monkeypatch.setattr(encryption_rotate.Command, "rotate_batch", crash_on_second_batch)
        with pytest.raises(RuntimeError, match="simulated crash"):
            _rotate("--batch-size", "1")
        # The first batch committed on its own; the second rolled back.
        assert _kids(clinic_a.schema) == ["k3", "test1", "test1"]
        monkeypatch.setattr(encryption_rotate.Command, "rotate_batch", real_batch)

        assert "2 value(s) to re-encrypt" in _rotate("--dry-run")
        resumed = _rotate("--batch-size", "1")
        assert "2 value(s) re-encrypted" in resumed
        assert _kids(clinic_a.schema) == ["k3"] * 3

        again = _rotate()
        assert "0 value(s) re-encrypted" in again
        assert "0 clinic data key(s) re-wrapped" in again
        assert "Nothing to do" in again
        assert "0 value(s) to re-encrypt" in _rotate("--dry-run")


def test_rotation_reports_values_that_do_not_belong_to_their_row_and_leaves_them(clinic_a):
    _give_secrets(clinic_a, roles=("doctor", "nurse"))
    doctor, nurse = clinic_a.users["doctor"].pk, clinic_a.users["nurse"].pk
    moved = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor)
    set_raw_value(clinic_a.schema, "accounts_user", "totp_secret", nurse, moved)

    with override_settings(DOCOS_ENCRYPTION_KEYS=rotated_ring("k4")):
        err = StringIO()
        with pytest.raises(CommandError, match="1 ciphertext"):
            call_command("encryption_rotate", stdout=StringIO(), stderr=err)
        assert f"t_alpha.accounts_user.totp_secret pk={nurse}" in err.getvalue()
        assert made_with(raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor), "k4")
        assert raw_value(clinic_a.schema, "accounts_user", "totp_secret", nurse) == moved


def test_rotation_for_one_clinic_leaves_the_others(clinic_a, clinic_b):
    _give_secrets(clinic_a)
    _give_secrets(clinic_b)
    with override_settings(DOCOS_ENCRYPTION_KEYS=rotated_ring("k5")):
        output = _rotate("--clinic", "beta")
        assert "1 schema(s)" in output and "1 clinic data key(s) re-wrapped" in output
        assert _kids(clinic_b.schema) == ["k5"] * 3
        assert _kids(clinic_a.schema) == ["test1"] * 3
        assert made_with(_wrapped(clinic_b.clinic), "k5")
        assert made_with(_wrapped(clinic_a.clinic), "test1")
        with pytest.raises(CommandError, match="No clinic"):
            _rotate("--clinic", "nowhere")


CLINIC_KEYED = {
    ("appointments.Appointment", "notes"),
    ("clinical.PatientAllergy", "allergen"),
    ("clinical.PatientAllergy", "reaction"),
    ("clinical.PrescriptionSafetyOverride", "finding"),
    ("clinical.PrescriptionSafetyOverride", "reason"),
    ("clinical.Prescription", "general_advice"),
    ("clinical.Prescription", "general_advice_hi"),
    ("clinical.PrescriptionItem", "dose"),
    ("clinical.PrescriptionItem", "drug_name"),
    ("clinical.PrescriptionItem", "duration"),
    ("clinical.PrescriptionItem", "frequency"),
    ("clinical.PrescriptionItem", "instructions"),
    ("clinical.PrescriptionItem", "instructions_hi"),
    ("clinical.PrescriptionItem", "strength"),
    ("clinical.Visit", "advice"),
    ("clinical.Visit", "chief_complaint"),
    ("clinical.Visit", "diagnoses"),
    ("clinical.Visit", "notes"),
    ("clinical.Visit", "procedures_performed"),
    ("clinical.VisitAddendum", "text"),
    ("documents.Certificate", "body"),
    ("documents.Certificate", "details"),
    ("documents.ConsentForm", "procedure"),
    ("documents.ConsentForm", "rendered_text"),
    ("documents.PatientDocument", "original_name"),
    ("documents.PatientDocument", "title"),
    ("imaging.Upload", "report"),
    ("imaging.UploadPart", "name"),
    ("messaging.OutboundMessage", "parameters"),
    ("messaging.OutboundMessage", "body"),
    ("messaging.InboundMessage", "body"),
    ("messaging.InboundMessage", "media_filename"),
    ("messaging.InboundMessage", "payload"),
    ("messaging.InboundMessage", "media_filename"),
    ("messaging.Contact", "profile"),
    ("messaging.Contact", "retain_reason"),
    ("patients.Patient", "allergies"),
    ("patients.Patient", "chronic_conditions"),
    ("patients.PatientImport", "errors"),
    ("patients.PatientAccessGrant", "reason"),
    ("patients.PatientImport", "review"),
    ("patients.PatientImport", "held"),
    ("patients.PatientImport", "decisions"),
    ("patients.Patient", "legal_hold_reason"),
    ("patients.Patient", "restriction_reason"),
    ("patients.PatientCorrection", "changes"),
    ("patients.PatientConsent", "note"),
    ("patients.PatientCorrection", "reason"),
    ("privacy.BreachIncident", "description"),
    ("privacy.RightsRequest", "details"),
    ("privacy.RightsRequest", "outcome_note"),
    ("privacy.RightsRequest", "requester_contact"),
    ("privacy.RightsRequest", "requester_name"),
    ("imaging.ShareLink", "token"),
}


def test_rotation_discovers_every_encrypted_column_and_its_key():
    columns = encryption_rotate.encrypted_columns()
    found = {(c.model._meta.label, c.field.name) for c in columns}
    ring_keyed = {("accounts.User", "totp_secret"), ("messaging.WhatsAppAccount", "access_token")}
    assert {*ring_keyed, ("docos.WebhookEvent", "body"), *CLINIC_KEYED} <= found
    clinic_keyed = {(c.model._meta.label, c.field.name) for c in columns if c.field.clinic_key}
    assert clinic_keyed == CLINIC_KEYED  # TOTP secrets (also in the public schema) stay on the ring


def test_rotation_moves_ring_encrypted_values_of_clinic_keyed_columns_to_the_clinic_key(clinic_a):
    # A value written before its column switched to the clinic key (e.g. visit notes, which were on the
    # ring) still reads, and rotation rewrites it under the clinic key; a re-run has nothing to do.
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(
            mrn="T-ROT-2", given_name="Farah", registered_location=clinic_a.locations[0], allergies="Latex"
        )
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"], notes=NOTES
        )
    legacy = crypto.encrypt_field(
        b"Latex", crypto.field_aad(clinic_a.schema, "patients_patient", "allergies", patient.pk)
    )  # on the ring, as before the switch
    set_raw_value(clinic_a.schema, "patients_patient", "allergies", patient.pk, legacy)
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.get(pk=patient.pk).allergies == "Latex"

    assert "1 value(s) to re-encrypt" in _rotate("--dry-run", "--clinic", "alpha")
    output = _rotate("--clinic", "alpha")
    assert "t_alpha: patients.Patient.allergies: 1 re-encrypted" in output
    moved = raw_value(clinic_a.schema, "patients_patient", "allergies", patient.pk)
    assert moved is not None and crypto.is_clinic_keyed(moved)
    assert crypto.is_clinic_keyed(raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk) or b"")
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.get(pk=patient.pk).allergies == "Latex"
    assert "Nothing to do" in _rotate("--clinic", "alpha")
