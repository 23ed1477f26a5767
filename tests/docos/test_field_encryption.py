"""Encrypted model fields: plaintext never reaches the database, and ciphertexts cannot be moved."""

from __future__ import annotations

import pickle
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from clinical.models import Visit
from docos.crypto import DecryptionError, UnknownKeyError, generate_key_spec
from docos.devkeys import TEST_ENCRYPTION_KEYS
from docos.fields import EncryptedTextField, Sealed
from patients.models import Patient
from tests.conftest import PASSWORD
from tests.docos.crypto_helpers import made_with, raw_value, set_raw_value

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOTES = {"history": "Fever for 3 days, Ramesh reports night sweats", "plan": "Paracetamol 650 mg", "bp": [120, 80]}


def _user(seeded, role):
    return User.objects.get(pk=seeded.users[role].pk)


def test_totp_secret_round_trips_and_is_stored_encrypted(clinic_a):
    with tenant_context(clinic_a.clinic):
        user = _user(clinic_a, "doctor")
        user.totp_secret = TOTP_SECRET
        user.save()
        raw = raw_value(clinic_a.schema, "accounts_user", "totp_secret", user.pk)
        assert raw is not None and made_with(raw, "test1")
        assert TOTP_SECRET.encode() not in raw
        assert User.objects.get(pk=user.pk).totp_secret == TOTP_SECRET


def test_encrypted_json_visit_notes_round_trip_and_are_stored_encrypted(clinic_a):
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(
            mrn="T-CRYPTO-1", given_name="Ramesh", registered_location=clinic_a.locations[0]
        )
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"], notes=NOTES
        )
        raw = raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk)
        assert raw is not None
        for needle in (b"Ramesh", b"Paracetamol", b"history", b"night sweats"):
            assert needle not in raw
        assert Visit.objects.get(pk=visit.pk).notes == NOTES


def test_same_value_encrypts_differently_each_save(clinic_a):
    with tenant_context(clinic_a.clinic):
        user = _user(clinic_a, "doctor")
        user.totp_secret = TOTP_SECRET
        user.save()
        first = raw_value(clinic_a.schema, "accounts_user", "totp_secret", user.pk)
        user.save()
        assert raw_value(clinic_a.schema, "accounts_user", "totp_secret", user.pk) != first


def test_ciphertext_copied_to_another_row_raises_decryption_error(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor, nurse = _user(clinic_a, "doctor"), _user(clinic_a, "nurse")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        stolen = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk)
        set_raw_value(clinic_a.schema, "accounts_user", "totp_secret", nurse.pk, stolen)

        victim = User.objects.get(pk=nurse.pk)
        with pytest.raises(DecryptionError, match=r"accounts.User.totp_secret of row .* belongs to another row"):
            _ = victim.totp_secret
        assert User.objects.get(pk=doctor.pk).totp_secret == TOTP_SECRET  # the original still reads


def test_ciphertext_copied_to_another_clinic_raises_decryption_error(clinic_a, clinic_b):
    # Same table, column and primary key in both schemas: only the clinic differs.
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        stolen = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk)
    with tenant_context(clinic_b.clinic):
        twin = User.objects.create_user("twin@beta.example.in", PASSWORD, full_name="Twin", id=doctor.pk)
        set_raw_value(clinic_b.schema, "accounts_user", "totp_secret", twin.pk, stolen)
        loaded = User.objects.get(pk=twin.pk)
        with pytest.raises(DecryptionError, match="t_beta"):
            _ = loaded.totp_secret


def test_ciphertext_copied_to_another_column_raises_decryption_error(clinic_a):
    with tenant_context(clinic_a.clinic):
        patient = Patient.objects.create(mrn="T-CRYPTO-2", given_name="Asha", registered_location=clinic_a.locations[0])
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"], notes=NOTES
        )
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        # Even a value re-bound to the same primary key fails in a different table/column.
        other = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk)
        set_raw_value(clinic_a.schema, "clinical_visit", "notes", visit.pk, other)
        with pytest.raises(DecryptionError):
            _ = Visit.objects.get(pk=visit.pk).notes


def test_tampered_ciphertext_raises_decryption_error(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        raw = bytearray(raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk) or b"")
        raw[-1] ^= 0x01
        set_raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk, bytes(raw))
        with pytest.raises(DecryptionError):
            _ = User.objects.get(pk=doctor.pk).totp_secret


def test_unknown_key_id_raises_unknown_key_error(clinic_a):
    with tenant_context(clinic_a.clinic):
        old_ring = generate_key_spec("retired")
        with override_settings(DOCOS_ENCRYPTION_KEYS=f"{old_ring},{TEST_ENCRYPTION_KEYS}"):
            doctor = _user(clinic_a, "doctor")
            doctor.totp_secret = TOTP_SECRET
            doctor.save()
        # The key "retired" was dropped from the ring before the value was re-encrypted.
        with pytest.raises(UnknownKeyError, match="'retired'"):
            _ = User.objects.get(pk=doctor.pk).totp_secret


def test_deferred_encrypted_field_is_loaded_and_decrypted_on_access(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        deferred = User.objects.only("email").get(pk=doctor.pk)
        assert "totp_secret" in deferred.get_deferred_fields()
        assert deferred.totp_secret == TOTP_SECRET


def test_full_clean_keeps_text_and_json_values(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.full_clean(exclude=["password"])
        assert doctor.totp_secret == TOTP_SECRET  # not base64-decoded like a BinaryField would
        doctor.save()
        assert User.objects.get(pk=doctor.pk).totp_secret == TOTP_SECRET


def test_not_null_text_field_defaults_to_empty_string():
    field = EncryptedTextField()
    assert field.get_default() == ""
    assert EncryptedTextField(null=True).get_default() is None


def test_loaded_instance_with_unread_ciphertext_pickles(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        loaded = User.objects.get(pk=doctor.pk)
        assert isinstance(loaded.__dict__["totp_secret"], Sealed)
        copy = pickle.loads(pickle.dumps(loaded))
        assert copy.totp_secret == TOTP_SECRET


def test_encrypted_field_cannot_be_used_in_lookups_or_update(clinic_a):
    with tenant_context(clinic_a.clinic):
        with pytest.raises(TypeError, match="cannot be used in lookups"):
            list(User.objects.filter(totp_secret=TOTP_SECRET))
        with pytest.raises(TypeError, match=r"QuerySet\.update"), transaction.atomic():
            User.objects.update(totp_secret=TOTP_SECRET)
        User.objects.filter(pk=clinic_a.users["doctor"].pk).update(totp_secret=None)  # clearing is allowed


def test_raw_bytes_are_refused_as_a_value(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = b"raw"
        with pytest.raises(ValidationError):
            doctor.full_clean(exclude=["password"])
        with pytest.raises(TypeError):
            doctor.save()


def test_primary_key_assigned_at_save_is_the_one_bound(clinic_a):
    with tenant_context(clinic_a.clinic):
        user = User(email="nopk@alpha.example.in", full_name="No PK", totp_secret=TOTP_SECRET)
        user.id = None  # type: ignore[assignment]
        user.save()  # the UUID default is applied before the field encrypts
        assert user.pk is not None
        assert User.objects.get(pk=user.pk).totp_secret == TOTP_SECRET


def test_public_schema_rows_are_bound_to_public(clinic_a):
    connection.set_schema_to_public()
    staff = User.objects.create_user("ops@docos.example", PASSWORD, full_name="Ops", id=uuid.uuid4())
    staff.totp_secret = TOTP_SECRET
    staff.save()
    assert User.objects.get(pk=staff.pk).totp_secret == TOTP_SECRET
    stolen = raw_value("public", "accounts_user", "totp_secret", staff.pk)
    with tenant_context(clinic_a.clinic):
        twin = User.objects.create_user("ops@alpha.example.in", PASSWORD, full_name="Ops twin", id=staff.pk)
        set_raw_value(clinic_a.schema, "accounts_user", "totp_secret", twin.pk, stolen)
        with pytest.raises(DecryptionError):
            _ = User.objects.get(pk=twin.pk).totp_secret


def test_primary_key_given_as_text_binds_like_the_uuid_read_back(clinic_a):
    with tenant_context(clinic_a.clinic):
        pk = uuid.uuid4()
        user = User(id=pk.hex.upper(), email="text-pk@alpha.example.in", full_name="Text PK")
        user.totp_secret = TOTP_SECRET
        user.save()
        assert User.objects.get(pk=pk).totp_secret == TOTP_SECRET


def test_saving_a_loaded_row_reencrypts_it_under_the_primary_key(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        with override_settings(DOCOS_ENCRYPTION_KEYS=f"{generate_key_spec('k9')},{TEST_ENCRYPTION_KEYS}"):
            loaded = User.objects.get(pk=doctor.pk)  # value not read before saving
            loaded.full_name = "Renamed"
            loaded.save()
            raw = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk)
            assert made_with(raw, "k9")
            assert User.objects.get(pk=doctor.pk).totp_secret == TOTP_SECRET


def test_bulk_create_encrypts_each_row_for_its_own_key(clinic_a):
    with tenant_context(clinic_a.clinic):
        users = User.objects.bulk_create(
            [
                User(email=f"bulk{i}@alpha.example.in", full_name=f"Bulk {i}", totp_secret=f"SECRET-{i}")
                for i in range(3)
            ]
        )
        for i, user in enumerate(users):
            raw = raw_value(clinic_a.schema, "accounts_user", "totp_secret", user.pk)
            assert raw is not None and b"SECRET" not in raw
            assert User.objects.get(pk=user.pk).totp_secret == f"SECRET-{i}"


def test_raw_ciphertext_cannot_be_written_or_matched_through_the_orm(clinic_a):
    with tenant_context(clinic_a.clinic):
        doctor = _user(clinic_a, "doctor")
        doctor.totp_secret = TOTP_SECRET
        doctor.save()
        blob = raw_value(clinic_a.schema, "accounts_user", "totp_secret", doctor.pk)
        with pytest.raises(TypeError), transaction.atomic():
            User.objects.filter(pk=clinic_a.users["nurse"].pk).update(totp_secret=blob)
        with pytest.raises(TypeError):
            list(User.objects.filter(totp_secret=blob))
