"""Ingest: DICOM files are indexed by study, series and instance, stored encrypted, deduplicated by
SOP Instance UID; broken and foreign files get per-file errors or warnings while the rest carries on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context
from pydicom.uid import generate_uid

from audit.models import AuditEvent
from docos.storage import read_raw
from documents.signing import current_clinic
from imaging import ingest, services
from imaging.models import Instance, Series, Study, Upload, UploadPart
from tests.clinical.clinical_helpers import clinic_files, make_patient, staff  # noqa: F401
from tests.imaging.imaging_helpers import outcomes, shipped, synthetic_ct, upload_files, variant

pytestmark = pytest.mark.usefixtures("clinic_files")


def test_ct_and_mr_files_are_indexed_by_study_series_and_instance(clinic_a):
    patient = make_patient(clinic_a)
    upload = upload_files(
        clinic_a, patient, [("CT_small.dcm", shipped("CT_small.dcm")), ("MR.dcm", shipped("MR_small.dcm"))]
    )

    assert upload.status == Upload.Status.DONE
    assert (upload.files_total, upload.files_done, upload.instances_stored, upload.errors) == (2, 2, 2, 0)
    with tenant_context(clinic_a.clinic):
        studies = list(Study.objects.filter(patient=patient).order_by("description"))
        assert len(studies) == 2
        ct = Study.objects.get(patient=patient, modalities=["CT"])
        assert ct.status == Study.Status.READY
        assert (ct.series_count, ct.instance_count) == (1, 1)
        instance = Instance.objects.get(study=ct)
        assert (instance.rows, instance.columns, instance.frames) == (128, 128, 1)
        assert instance.pixel_spacing_row == pytest.approx(0.661468)
        assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.1"
        mr = Instance.objects.get(study__modalities=["MR"])
        assert (mr.window_center, mr.window_width) == (600.0, 1600.0)
        assert set(upload.studies.values_list("pk", flat=True)) == {s.pk for s in studies}
        assert not UploadPart.objects.filter(upload=upload).exists()  # chunks are deleted once indexed
        assert AuditEvent.objects.filter(action="imaging.upload.processed", object_id=str(upload.pk)).exists()
        assert AuditEvent.objects.filter(action="imaging.study.create").count() >= 2


def test_originals_are_stored_encrypted_and_read_back_verified(clinic_a):
    patient = make_patient(clinic_a)
    data = shipped("CT_small.dcm")
    upload_files(clinic_a, patient, [("ct.dcm", data)])
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.get(study__patient=patient)
        raw = read_raw(instance.storage_name)
        assert b"DICM" not in raw and raw != data
        assert instance.storage_name.startswith(f"{clinic_a.schema}/imaging/")
        assert services.instance_bytes(instance=instance, actor=staff(clinic_a, "doctor")) == data


def test_the_same_sop_instance_uploaded_twice_is_stored_once(clinic_a):
    patient = make_patient(clinic_a)
    data = shipped("MR_small.dcm")
    first = upload_files(clinic_a, patient, [("a.dcm", data), ("copy-of-a.dcm", data)])
    second = upload_files(clinic_a, patient, [("again.dcm", data)])

    assert (first.instances_stored, first.duplicates) == (1, 1)
    assert (second.instances_stored, second.duplicates) == (0, 1)
    assert ("again.dcm", "duplicate") in outcomes(second)
    with tenant_context(clinic_a.clinic):
        assert Instance.objects.filter(study__patient=patient).count() == 1


def test_malformed_and_non_dicom_files_get_errors_while_the_rest_is_stored(clinic_a):
    patient = make_patient(clinic_a)
    truncated = shipped("CT_small.dcm")[:300]
    no_uid = variant("CT_small.dcm", StudyInstanceUID="")
    upload = upload_files(
        clinic_a,
        patient,
        [
            ("notes.txt", b"This is a referral letter, not an image.\n" * 20),
            ("head.dcm", truncated),
            ("no-study.dcm", no_uid),
            ("good.dcm", shipped("CT_small.dcm")),
            ("scan.pdf", b"%PDF-1.4\n%%EOF\n"),
        ],
    )
    assert upload.status == Upload.Status.DONE
    assert (upload.instances_stored, upload.errors) == (1, 4)
    report = {row["file"]: row for row in upload.report}
    assert report["good.dcm"]["outcome"] == "stored"
    assert report["notes.txt"]["reason"] == "This is not a DICOM file."
    assert report["scan.pdf"]["outcome"] == "error"
    assert report["head.dcm"]["outcome"] == "error"
    assert "Study Instance UID" in report["no-study.dcm"]["reason"]


def test_a_file_naming_another_patient_is_kept_with_a_warning(clinic_a):
    patient = make_patient(clinic_a, given_name="Asha", family_name="Verma", mrn="MRN-777")
    same = synthetic_ct(rows=64, columns=64, patient_name="VERMA^ASHA", patient_id="X1")
    other = synthetic_ct(rows=64, columns=64, patient_name="KHAN^IMRAN", patient_id="H-99")
    anonymous = synthetic_ct(rows=64, columns=64)

    upload = upload_files(clinic_a, patient, [("same.dcm", same), ("other.dcm", other), ("anon.dcm", anonymous)])

    assert upload.instances_stored == 3
    warnings = [row for row in upload.report if row["outcome"] == "warning"]
    assert [row["file"] for row in warnings] == ["other.dcm"]
    assert "another patient" in warnings[0]["reason"]


def test_a_study_filed_under_another_patient_is_not_added_to_this_chart(clinic_a):
    first, second = make_patient(clinic_a), make_patient(clinic_a, given_name="Ravi")
    study_uid = generate_uid()
    upload_files(clinic_a, first, [("a.dcm", synthetic_ct(rows=32, columns=32, study_uid=study_uid))])
    upload = upload_files(clinic_a, second, [("b.dcm", synthetic_ct(rows=32, columns=32, study_uid=study_uid))])
    assert (upload.instances_stored, upload.errors) == (0, 1)
    assert "another patient" in upload.report[0]["reason"]
    with tenant_context(clinic_a.clinic):
        assert not Study.objects.filter(patient=second).exists()


def test_a_file_sent_in_chunks_is_put_back_together(clinic_a):
    patient = make_patient(clinic_a)
    data = synthetic_ct(rows=256, columns=256)
    upload = upload_files(clinic_a, patient, [("big.dcm", data)], chunk=40_000)
    assert upload.instances_stored == 1
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.get(study__patient=patient)
        assert instance.size == len(data)
        assert services.instance_bytes(instance=instance, actor=staff(clinic_a, "doctor")) == data


def test_a_series_of_slices_is_one_series_ordered_by_instance_number(clinic_a):
    patient = make_patient(clinic_a)
    study, series = generate_uid(), generate_uid()
    files = [
        (f"s{n}.dcm", synthetic_ct(rows=32, columns=32, study_uid=study, series_uid=series, number=n))
        for n in (3, 1, 2)
    ]
    upload_files(clinic_a, patient, files)
    with tenant_context(clinic_a.clinic):
        one = Series.objects.get(study__patient=patient)
        assert one.instance_count == 3
        assert [i.number for i in one.instances.order_by("number")] == [1, 2, 3]
        assert Study.objects.get(patient=patient).series_count == 1


def test_a_file_whose_chunks_did_not_all_arrive_is_reported_at_submit(clinic_a):
    patient = make_patient(clinic_a)
    actor = staff(clinic_a, "doctor")
    with tenant_context(clinic_a.clinic):
        upload = services.upload_start(patient=patient, actor=actor, files_expected=2)
        services.upload_chunk_receive(
            upload=upload,
            actor=actor,
            file_index=0,
            chunk_index=0,
            chunk_count=1,
            name="a.dcm",
            data=shipped("CT_small.dcm"),
        )
        services.upload_chunk_receive(
            upload=upload, actor=actor, file_index=1, chunk_index=0, chunk_count=2, name="b.dcm", data=b"x" * 10
        )
        services.upload_submit(upload=upload, actor=actor)
        ingest.upload_process(clinic=current_clinic(), upload_id=upload.pk)
        upload.refresh_from_db()
    assert (upload.files_total, upload.instances_stored, upload.errors) == (1, 1, 1)
    assert any("Did not arrive completely" in row["reason"] for row in upload.report)


def test_submit_queues_the_ingest_task_on_the_imaging_queue(clinic_a, monkeypatch, django_capture_on_commit_callbacks):
    from imaging.tasks import ingest_upload_task

    assert ingest_upload_task.queue == "imaging"
    queued: list[str] = []
    monkeypatch.setattr("imaging.tasks.ingest_upload_task.delay", lambda upload_id: queued.append(upload_id))
    patient = make_patient(clinic_a)
    actor = staff(clinic_a, "nurse")
    with tenant_context(clinic_a.clinic):
        upload = services.upload_start(patient=patient, actor=actor, files_expected=1)
        services.upload_chunk_receive(
            upload=upload, actor=actor, file_index=0, chunk_index=0, chunk_count=1, name="a.dcm", data=b"abc"
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.upload_submit(upload=upload, actor=actor)
        upload.refresh_from_db()
        assert upload.status == Upload.Status.QUEUED
        with pytest.raises(ValidationError):  # submitted: no more files
            services.upload_chunk_receive(
                upload=upload, actor=actor, file_index=0, chunk_index=0, chunk_count=1, name="a.dcm", data=b"abc"
            )
    assert queued == [str(upload.pk)]


def test_a_processed_upload_is_not_processed_again(clinic_a):
    patient = make_patient(clinic_a)
    upload = upload_files(clinic_a, patient, [("a.dcm", shipped("CT_small.dcm"))])
    with tenant_context(clinic_a.clinic):
        assert ingest.upload_process(clinic=current_clinic(), upload_id=upload.pk) == "done"
        assert Instance.objects.filter(study__patient=patient).count() == 1


def test_only_the_uploader_adds_files_and_limits_are_explained(clinic_a, settings):
    settings.IMAGING_CHUNK_MAX_BYTES = 1000
    patient = make_patient(clinic_a)
    doctor, nurse = staff(clinic_a, "doctor"), staff(clinic_a, "nurse")
    with tenant_context(clinic_a.clinic):
        upload = services.upload_start(patient=patient, actor=doctor, files_expected=1)
        with pytest.raises(ValidationError) as other:
            services.upload_chunk_receive(
                upload=upload, actor=nurse, file_index=0, chunk_index=0, chunk_count=1, name="a", data=b"a"
            )
        assert "Only the person who started" in str(other.value)
        with pytest.raises(ValidationError) as big:
            services.upload_chunk_receive(
                upload=upload, actor=doctor, file_index=0, chunk_index=0, chunk_count=1, name="a", data=b"a" * 1001
            )
        assert "at most" in str(big.value)
        with pytest.raises(ValidationError) as outside:
            services.upload_chunk_receive(
                upload=upload, actor=doctor, file_index=1, chunk_index=0, chunk_count=1, name="a", data=b"a"
            )
        assert "announced 1 file" in str(outside.value)
        with pytest.raises(ValidationError) as none:
            services.upload_start(patient=patient, actor=doctor, files_expected=0)
        assert "at least one" in str(none.value)
