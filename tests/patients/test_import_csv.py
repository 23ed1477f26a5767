"""CSV import: upload (encrypted), mapping guess, preview with row errors, idempotent runs, error report."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from docos.storage import file_storage
from patients import importer
from patients.models import Patient, PatientImport
from tests.patients.import_helpers import BAD_ROWS, GOOD_ROWS, HEADERS, csv_bytes
from tests.patients.registry_helpers import register, user

IN_MEMORY_FILES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}


@pytest.fixture(autouse=True)
def memory_files(settings):
    settings.STORAGES = IN_MEMORY_FILES


def upload(seeded, data, *, role="owner", location_index=0):
    with tenant_context(seeded.clinic):
        return importer.patient_import_upload(
            actor=user(seeded, role),
            data=data,
            original_name="old-system.csv",
            location=seeded.locations[location_index],
        )


def run_import(seeded, patient_import, mapping=None):
    with tenant_context(seeded.clinic):
        owner = user(seeded, "owner")
        importer.patient_import_set_mapping(
            patient_import=patient_import, mapping=mapping or patient_import.mapping, actor=owner
        )
        PatientImport.objects.filter(pk=patient_import.pk).update(status=PatientImport.Status.RUNNING)
        assert importer.patient_import_run(import_id=patient_import.pk) == "done"
        patient_import.refresh_from_db()
    return patient_import


def test_mapping_is_guessed_from_the_headers():
    mapping = importer.guess_mapping(
        ["UHID", "Patient Name", "Sex", "D.O.B", "Mobile No", "Pin Code", "Blood Group", "Aadhar", "Guardian Name"]
    )
    assert mapping == {
        "UHID": "external_ref",
        "Patient Name": "full_name",
        "Sex": "sex",
        "D.O.B": "date_of_birth",
        "Mobile No": "phone",
        "Pin Code": "pin_code",
        "Blood Group": "blood_group",
        "Aadhar": "aadhaar_last4",
        "Guardian Name": "guardian_name",
    }
    split = importer.guess_mapping(["First Name", "Surname", "Name"])
    assert split == {"First Name": "given_name", "Surname": "family_name"}


def test_upload_is_stored_encrypted(clinic_a):
    data = csv_bytes(GOOD_ROWS)
    patient_import = upload(clinic_a, data)
    with file_storage().open(patient_import.storage_name, "rb") as handle:
        stored = handle.read()
    assert b"Lakshmi" not in stored and b"98450" not in stored
    assert patient_import.total_rows == len(GOOD_ROWS)
    with tenant_context(clinic_a.clinic):
        assert importer.import_rows(patient_import).rows[0][1] == "Lakshmi Iyer"


def test_preview_shows_row_errors_and_known_patients(clinic_a):
    register(
        clinic_a, given_name="Lakshmi", family_name="Iyer", phone="98450 11111", date_of_birth=dt.date(1961, 3, 14)
    )
    patient_import = upload(clinic_a, csv_bytes(GOOD_ROWS + BAD_ROWS))
    with tenant_context(clinic_a.clinic):
        owner = user(clinic_a, "owner")
        importer.patient_import_set_mapping(
            patient_import=patient_import, mapping={**patient_import.mapping, "Patient ID": ""}, actor=owner
        )
        _, outcomes = importer.patient_import_preview(patient_import=patient_import, actor=owner)
    by_row = {o.number: o for o in outcomes}
    assert by_row[2].existing is not None  # Lakshmi Iyer: same phone, name and date of birth
    assert by_row[3].existing is None and not by_row[3].errors
    assert by_row[3].fields["phone"] == "+919845022222"
    assert "given_name" in by_row[6].errors
    assert "date_of_birth" in by_row[7].errors
    assert "phone" in by_row[8].errors
    assert "full Aadhaar number" in by_row[9].errors["aadhaar_last4"][0]
    assert "state" in by_row[10].errors


def test_same_file_twice_creates_no_duplicates_by_source_id(clinic_a):
    data = csv_bytes(GOOD_ROWS + BAD_ROWS)
    first = run_import(clinic_a, upload(clinic_a, data))
    assert (first.created_count, first.skipped_count, first.error_count) == (4, 0, 5)
    second = run_import(clinic_a, upload(clinic_a, data))
    assert (second.created_count, second.skipped_count, second.error_count) == (0, 4, 5)
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.count() == 4
        lakshmi = Patient.objects.get(external_ref="OLD-1")
        assert lakshmi.registered_location_id == clinic_a.locations[0].pk
        assert lakshmi.whatsapp_consent_source == "import"
        assert Patient.objects.get(external_ref="OLD-2").whatsapp_consent_at is None
        assert Patient.objects.get(external_ref="OLD-3").aadhaar_last4 == "1234"


def test_same_file_twice_without_source_ids_matches_phone_name_and_birth_date(clinic_a):
    rows = [row[1:] for row in GOOD_ROWS]
    data = csv_bytes(rows, headers=HEADERS[1:])
    first = run_import(clinic_a, upload(clinic_a, data))
    second = run_import(clinic_a, upload(clinic_a, data))
    assert first.created_count == 4 and (second.created_count, second.skipped_count) == (0, 4)
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.count() == 4


def test_rows_repeated_inside_one_file_are_imported_once(clinic_a):
    data = csv_bytes([GOOD_ROWS[0], GOOD_ROWS[0], GOOD_ROWS[1]])
    done = run_import(clinic_a, upload(clinic_a, data))
    assert (done.created_count, done.skipped_count) == (2, 1)


def test_error_report_lists_rejected_rows_with_reasons(clinic_a, client_for):
    done = run_import(clinic_a, upload(clinic_a, csv_bytes(GOOD_ROWS + BAD_ROWS)))
    response = client_for(clinic_a, "owner").get(f"/patients/import/{done.pk}/errors.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Errors", *HEADERS]
    assert [r[0] for r in rows[1:]] == ["6", "7", "8", "9", "10"]
    reasons = {r[0]: r[1] for r in rows[1:]}
    assert "Aadhaar" in reasons["9"] and "Given name" in reasons["6"]
    assert rows[5][3].startswith("'=")  # a formula is neutralised in the report
    with tenant_context(clinic_a.clinic):
        from audit.models import AuditEvent

        assert AuditEvent.objects.filter(action="patient_import.error_report", object_id=str(done.pk)).exists()


def test_import_pages_walk_through_upload_mapping_preview_and_start(
    clinic_a, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    client = client_for(clinic_a, "owner")
    assert client.get("/patients/import/").status_code == 200
    upload_file = SimpleUploadedFile("list.csv", csv_bytes(GOOD_ROWS + BAD_ROWS), content_type="text/csv")
    response = client.post("/patients/import/", {"file": upload_file, "location": str(clinic_a.locations[0].pk)})
    assert response.status_code == 302
    detail_url = response["Location"]
    page = client.get(detail_url)
    assert b"Which column holds what" in page.content and b"Lakshmi Iyer" in page.content
    mapping = {
        f"col_{i}": target
        for i, target in enumerate(
            [
                "external_ref",
                "full_name",
                "sex",
                "date_of_birth",
                "phone",
                "email",
                "address",
                "pin_code",
                "state",
                "aadhaar_last4",
                "whatsapp_consent",
            ]
        )
    }
    assert client.post(detail_url, mapping).status_code == 302
    preview = client.get(detail_url).content.decode()
    assert "Preview of the first rows" in preview and "Will not import" in preview and "New patient" in preview
    queued = []
    monkeypatch.setattr("patients.tasks.patient_import_run_task.delay", lambda import_id: queued.append(import_id))
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(detail_url + "start")
    assert started.status_code == 302 and len(queued) == 1
    status = client.get(detail_url + "status").json()
    assert status["status"] == "running" and status["total"] == 9
    # Starting twice does not queue it again.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail_url + "start")
    assert len(queued) == 1


def test_mapping_must_name_the_patient_column(clinic_a, client_for):
    patient_import = upload(clinic_a, csv_bytes(GOOD_ROWS))
    response = client_for(clinic_a, "owner").post(f"/patients/import/{patient_import.pk}/", {"col_0": "external_ref"})
    assert b"column with the patient" in response.content


def test_bad_files_are_refused_with_a_message(clinic_a):
    from django.core.exceptions import ValidationError

    for data, message in [
        (b"", "empty"),
        (b"Name,Phone\n", "no patients"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV"),
    ]:
        with pytest.raises(ValidationError) as exc:
            upload(clinic_a, data)
        assert message in str(exc.value), message


def test_semicolon_separated_files_with_cp1252_are_read(clinic_a):
    data = "Name;Mobile\nJosé Fernandes;98450 12121\n".encode("cp1252")
    patient_import = upload(clinic_a, data)
    assert patient_import.mapping == {"Name": "full_name", "Mobile": "phone"}
    done = run_import(clinic_a, patient_import)
    assert done.created_count == 1


def test_only_importers_may_import(clinic_a, client_for):
    patient_import = upload(clinic_a, csv_bytes(GOOD_ROWS))
    for role in ("front_desk", "doctor", "pharmacist"):
        client = client_for(clinic_a, role)
        assert client.get("/patients/import/").status_code == 403
        assert client.get(f"/patients/import/{patient_import.pk}/status").status_code == 403


def test_import_of_another_clinic_is_404(clinic_a, clinic_b, client_for):
    other = upload(clinic_b, csv_bytes(GOOD_ROWS))
    client = client_for(clinic_a, "owner")
    assert client.get(f"/patients/import/{other.pk}/").status_code == 404
    assert client.get(f"/patients/import/{other.pk}/status").status_code == 404


def test_finished_import_returns_at_once_when_run_again(clinic_a):
    done = run_import(clinic_a, upload(clinic_a, csv_bytes(GOOD_ROWS)))
    with tenant_context(clinic_a.clinic):
        assert importer.patient_import_run(import_id=done.pk) == "done"
        assert Patient.objects.count() == 4
