"""Per-patient file keys (crypto-shredding of one person): a patient's files are encrypted with a key
of their own, wrapped by the clinic's data key; erasing the patient destroys it, so a copy of their
files kept anywhere (a backup, a bucket version) is unreadable, while the clinic's other files are not."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django_tenants.utils import tenant_context

from docos import crypto
from docos.storage import FileUnavailable, read_raw, read_verified
from documents.services import document_upload
from patients.file_keys import PatientFileKeyStore, destroy_file_keys
from patients.models import PatientFileKey
from privacy.models import RightsRequest
from privacy.services import rights_request_erase
from tests.appointments.helpers import make_patient
from tests.privacy.helpers import owner, request_for

NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n% Ultrasound report of Farida Shaikh\n%%EOF\n"


def _upload(seeded, patient, data=PDF):
    return document_upload(
        patient=patient,
        actor=owner(seeded),
        file=SimpleUploadedFile("usg.pdf", data, content_type="application/pdf"),
        title="USG abdomen",
    )


def test_a_patients_document_is_encrypted_with_their_own_key(clinic_a):
    patient = make_patient(clinic_a, given_name="Farida", family_name="Shaikh")
    with tenant_context(clinic_a.clinic):
        document = _upload(clinic_a, patient)
        blob = read_raw(document.storage_name)
        assert crypto.file_subject(blob) == patient.pk
        assert PatientFileKey.objects.filter(subject=patient.pk).count() == 1
        assert read_verified(clinic_a.clinic, name=document.storage_name, sha256=document.sha256) == PDF
        # The clinic's data key alone does not open it.
        clinic_format = crypto.FILE_FORMAT + blob[len(crypto.SUBJECT_FILE_FORMAT) + crypto.SUBJECT_BYTES :]
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_file(clinic_a.clinic, clinic_format, document.storage_name)
        # A second file of the same patient uses the same key: still one key row.
        _upload(clinic_a, patient, data=PDF + b"% page 2\n")
        assert PatientFileKey.objects.filter(subject=patient.pk).count() == 1


def test_a_file_relabelled_with_another_patient_fails_authentication(clinic_a):
    farida = make_patient(clinic_a, given_name="Farida", family_name="Shaikh")
    other = make_patient(clinic_a, given_name="Gurpreet", family_name="Sandhu")
    with tenant_context(clinic_a.clinic):
        document = _upload(clinic_a, farida)
        _upload(clinic_a, other)
        blob = read_raw(document.storage_name)
        start = len(crypto.SUBJECT_FILE_FORMAT)
        relabelled = blob[:start] + other.pk.bytes + blob[start + crypto.SUBJECT_BYTES :]
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_file(clinic_a.clinic, relabelled, document.storage_name)


def test_erasure_destroys_the_key_so_a_backup_copy_is_unreadable(clinic_a):
    farida = make_patient(clinic_a, given_name="Farida", family_name="Shaikh", date_of_birth=dt.date(1970, 1, 1))
    neighbour = make_patient(clinic_a, given_name="Gurpreet", family_name="Sandhu")
    with tenant_context(clinic_a.clinic):
        document = _upload(clinic_a, farida)
        # Uploaded long ago, so no retention period keeps it (an erasure, not a restriction).
        type(document).objects.filter(pk=document.pk).update(created_at=dt.datetime(2014, 6, 1, tzinfo=dt.UTC))
        kept = _upload(clinic_a, neighbour)
        backup = read_raw(document.storage_name)  # a copy outside DocOS's reach (a backup, a bucket version)
        request = request_for(clinic_a, farida, RightsRequest.Kind.ERASURE)
        with time_machine.travel(NOW, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
            done = rights_request_erase(request=request, actor=owner(clinic_a))
        assert done.outcome == RightsRequest.Outcome.ERASED
        tombstone = PatientFileKey.objects.get(subject=farida.pk)  # the id and when, no key
        assert tombstone.wrapped_key is None and tombstone.destroyed_at is not None
        with pytest.raises(crypto.SubjectKeyDestroyedError):
            crypto.decrypt_file(clinic_a.clinic, backup, document.storage_name)
        # The neighbour's file, under the same clinic key, is untouched.
        assert read_verified(clinic_a.clinic, name=kept.storage_name, sha256=kept.sha256) == PDF


def test_reading_a_file_whose_patient_was_erased_says_so(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        document = _upload(clinic_a, patient)
        destroy_file_keys([patient.pk])
        with pytest.raises(FileUnavailable) as caught:
            read_verified(clinic_a.clinic, name=document.storage_name, sha256=document.sha256)
        assert caught.value.reason == "key_destroyed" and "erased" in str(caught.value)


def test_a_file_naming_a_subject_that_never_had_a_key_is_altered_not_erased(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        document = _upload(clinic_a, patient)
        blob = read_raw(document.storage_name)
        start = len(crypto.SUBJECT_FILE_FORMAT)
        stranger = blob[:start] + uuid.uuid4().bytes + blob[start + crypto.SUBJECT_BYTES :]
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_file(clinic_a.clinic, stranger, document.storage_name)


def test_a_new_file_after_erasure_gets_a_new_key_and_old_copies_stay_unreadable(clinic_a):
    patient = make_patient(clinic_a)
    with tenant_context(clinic_a.clinic):
        old = _upload(clinic_a, patient)
        backup = read_raw(old.storage_name)
        destroy_file_keys([patient.pk])
        new = _upload(clinic_a, patient, data=PDF + b"% later\n")
        assert read_verified(clinic_a.clinic, name=new.storage_name, sha256=new.sha256).endswith(b"later\n")
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_file(clinic_a.clinic, backup, old.storage_name)


def test_two_first_files_at_once_keep_one_key(clinic_a):
    patient = make_patient(clinic_a)
    store = PatientFileKeyStore()
    with tenant_context(clinic_a.clinic):
        first = store.add(patient.pk, b"wrapped-one")
        second = store.add(patient.pk, b"wrapped-two")  # the loser of a race: keeps the winner's
        assert first == second == b"wrapped-one"
