"""Imaging joins the patient-data registry: a rights export holds the patient's studies and their DICOM
originals, and an erasure deletes studies, uploads and their stored files."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from imaging.models import Instance, Study, Upload
from patients.registry import data_sources, erase_patient_data
from tests.clinical.clinical_helpers import make_patient
from tests.imaging.imaging_helpers import shipped, upload_files


def _imaging_source():
    return next(source for source in data_sources() if source.key == "imaging")


def test_export_lists_the_study_and_its_originals_and_erasure_removes_them(clinic_a):
    patient = make_patient(clinic_a, given_name="Joseph", family_name="Varghese")
    upload_files(clinic_a, patient, [("ct.dcm", shipped("CT_small.dcm"))])
    source = _imaging_source()
    with tenant_context(clinic_a.clinic):
        records = source.export(patient)["imaging_studies"]
        files = source.files(patient)
        assert len(records) == 1 and records[0]["series"] and len(files) == 1
        assert files[0].path.endswith(".dcm") and files[0].storage_name
        assert source.last_encounter is not None and source.last_encounter(patient) is not None
        counts = erase_patient_data(patient, keep_patient_row=True)
        assert counts["imaging"] > 0
        assert not Study.objects.filter(patient=patient).exists()
        assert not Instance.objects.filter(study__patient=patient).exists()
        assert not Upload.objects.filter(patient=patient).exists()
