"""`manage.py encryption_rotate`: every encrypted column in every schema, and the clinic data keys."""

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
        patient = Patient.objects.create(mrn="T-ROT-1", given_name="Meena", registered_location=clinic_a.locations[0])
        visit = Visit.objects.create(
            patient=patient, location=clinic_a.locations[0], clinician=clinic_a.users["doctor"], notes=NOTES
        )
    data_keys = {c.slug: clinic_data_key(c) for c in (clinic_a.clinic, clinic_b.clinic)}
    file_blob = crypto.encrypt_file(clinic_a.clinic, b"scan bytes", "xray/1.dcm")
    assert _kids(clinic_a.schema) == ["test1"] * 3

    ring = rotated_ring("k2")
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring):
        output = _rotate("--batch-size", "2")
    assert "t_alpha: accounts.User.totp_secret: 3 re-encrypted" in output
    assert "public: accounts.User.totp_secret: 1 re-encrypted" in output
    assert "t_alpha: clinical.Visit.notes: 1 re-encrypted" in output
    assert "8 value(s) re-encrypted" in output
    assert "2 clinic data key(s) re-wrapped" in output
    assert _kids(clinic_a.schema) == ["k2"] * 3
    assert _kids(clinic_b.schema) == ["k2"] * 3
    assert _kids("public") == ["k2"]
    assert _kids(clinic_a.schema, "clinical_visit", "notes") == ["k2"]

    # The old key can now leave the ring: everything reads with the new key alone.
    with override_settings(DOCOS_ENCRYPTION_KEYS=ring.split(",")[0]):
        with tenant_context(clinic_a.clinic):
            assert {str(u.pk): u.totp_secret for u in User.objects.exclude(totp_secret=None)} == secrets_a
            assert Visit.objects.get(pk=visit.pk).notes == NOTES
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


def test_rotation_discovers_every_encrypted_column():
    found = {(c.model._meta.label, c.field.name) for c in encryption_rotate.encrypted_columns()}
    assert {("accounts.User", "totp_secret"), ("clinical.Visit", "notes")} <= found
