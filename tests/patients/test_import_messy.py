"""Another system's export imported without losing or duplicating anyone: the messy fixture
(tests/patients/fixtures/messy_export.csv: UTF-8 with a BOM, CRLF, doubled quotes, embedded
newlines, ages, initials, honorifics, Devanagari and Tamil, a misshapen row, a formula), its cp1252
sibling, and an Excel workbook made with openpyxl here."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from docos.csv_cells import safe_cell, unescape_cell
from docos.storage import read_raw
from patients import importer
from patients.models import Patient, PatientImport
from patients.services import GUARDIAN_FOLLOW_UP_TAG, estimated_dob
from tests.patients.registry_helpers import register, restrict, user

FIXTURES = Path(__file__).parent / "fixtures"
MESSY = (FIXTURES / "messy_export.csv").read_bytes()
MESSY_CP1252 = (FIXTURES / "messy_export_cp1252.csv").read_bytes()
MESSY_MAPPING = {
    "Reg No.": "external_ref",
    "Patient Name": "full_name",
    "Sex": "sex",
    "DOB": "date_of_birth",
    "Age": "age",
    "Mobile No.": "phone",
    "Father/Husband Name": "guardian_name",
    "Address": "address",
    "Allergies": "allergies",
}


@pytest.fixture(autouse=True)
def memory_files(settings):
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "clinic_files": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }


def upload(seeded, data: bytes, *, role: str = "owner", name: str = "export.csv") -> PatientImport:
    with tenant_context(seeded.clinic):
        return importer.patient_import_upload(
            actor=user(seeded, role), data=data, original_name=name, location=seeded.locations[0]
        )


def map_it(seeded, patient_import: PatientImport, *, role: str = "owner") -> PatientImport:
    with tenant_context(seeded.clinic):
        return importer.patient_import_set_mapping(
            patient_import=patient_import, mapping=patient_import.mapping, actor=user(seeded, role)
        )


def run(seeded, patient_import: PatientImport) -> PatientImport:
    with tenant_context(seeded.clinic):
        PatientImport.objects.filter(pk=patient_import.pk).update(status=PatientImport.Status.RUNNING)
        assert importer.patient_import_run(import_id=patient_import.pk) == "done"
        patient_import.refresh_from_db()
    return patient_import


def existing_patients(seeded) -> dict[str, Patient]:
    """Patients registered before the import that the fixture's rows resemble."""
    return {
        # Row 2 (Smt. Lakshmi Iyer): same phone, name and birth date, but registered without the source id.
        "lakshmi": register(
            seeded, given_name="Lakshmi", family_name="Iyer", phone="9845011111", date_of_birth=dt.date(1961, 3, 14)
        ),
        # Row 6 (Mohammed Rafiq), registered at the other branch.
        "rafiq": register(
            seeded,
            location_index=1,
            given_name="Mohammed",
            family_name="Rafiq",
            phone="9845022222",
            date_of_birth=dt.date(1972, 8, 1),
        ),
        # Row 12 (Srinivas Reddy): a similar name and the same birth date, another phone.
        "sreenivas": register(
            seeded, given_name="Sreenivas", family_name="Reddy", phone="9845070000", date_of_birth=dt.date(1980, 1, 2)
        ),
    }


# --- reading ------------------------------------------------------------------------------------


def test_doubled_quotes_are_read_by_rfc_4180_where_the_sniffer_gets_them_wrong():
    data = (
        'Name,Address,Link,Phone\r\nAsha,"12, MG Road",'
        '"=HYPERLINK(""http://x/?a=1,b=2"",""Click, here"")",9845011111\r\n'
    )
    assert csv.Sniffer().sniff(data, delimiters=",;\t|").doublequote is False  # what shifted the columns
    parsed = importer.parse_csv(data.encode())
    assert parsed.rows == [["Asha", "12, MG Road", '=HYPERLINK("http://x/?a=1,b=2","Click, here")', "9845011111"]]


def test_messy_file_is_read_cell_by_cell():
    parsed = importer.parse_file(MESSY)
    assert parsed.headers[0] == "Reg No." and len(parsed.headers) == 10  # BOM gone
    by_ref = {row[0]: row for row in parsed.rows}
    assert by_ref["R-1001"][8] == "12, 4th Cross\nJayanagar"  # an embedded newline stays in its cell
    ramesh = by_ref["R-1002"]
    assert ramesh[2] == '=HYPERLINK("http://old-his.example/p/?id=1002,v=2","Open, record")'
    assert ramesh[3:5] == ["M", "45 Y"] and ramesh[8] == 'Flat 3, "Green Acres", MG Road' and ramesh[9] == "Dust"
    assert by_ref["R-1003"][9] == "Sulfa\nAspirin"
    assert len(by_ref["R-1009"]) == 8  # kept as it is, to be reported
    assert parsed.numbers == list(range(2, 13))
    assert importer.guess_mapping(parsed.headers) == MESSY_MAPPING


def test_cp1252_semicolon_file_with_quotes_and_newlines():
    parsed = importer.parse_file(MESSY_CP1252)
    assert parsed.rows[0][:2] == ["Mr. José D\u2019Souza", "M"]
    assert parsed.rows[0][5] == "Café Coffee Day Lane; Bandra"
    assert parsed.rows[1][5] == 'Flat "B" 2\nSantacruz'
    fields, _ = importer.row_fields(parsed.rows[0], parsed.headers, importer.guess_mapping(parsed.headers))
    assert (fields["given_name"], fields["family_name"]) == ("José", "D\u2019Souza")
    assert fields["date_of_birth"] == estimated_dob(45) and fields["dob_is_estimated"] is True


def test_indian_header_synonyms_map_automatically():
    headers = [
        "UHID",
        "Patient Name",
        "Mobile No.",
        "DOB",
        "Age",
        "Sex",
        "Guardian",
    ]
    assert importer.guess_mapping(headers) == {
        "UHID": "external_ref",
        "Patient Name": "full_name",
        "Mobile No.": "phone",
        "DOB": "date_of_birth",
        "Age": "age",
        "Sex": "sex",
        "Guardian": "guardian_name",
    }
    for header, target in [
        ("Mobile", "phone"),
        ("Contact No", "phone"),
        ("Phone No", "phone"),
        ("Contact No.", "phone"),
        ("Father/Husband Name", "guardian_name"),
        ("Father / Husband Name", "guardian_name"),
        ("Reg No", "external_ref"),
        ("Reg. No.", "external_ref"),
        ("UHID", "external_ref"),
        ("D.O.B", "date_of_birth"),
    ]:
        assert importer.guess_mapping([header]) == {header: target}, header


def test_preview_warns_when_phone_or_birth_date_is_not_mapped():
    assert importer.mapping_warnings(MESSY_MAPPING) == []
    warnings = importer.mapping_warnings({"Name": "full_name"})
    assert len(warnings) == 2 and "phone" in warnings[0] and "date of birth or age" in warnings[1]
    assert importer.mapping_warnings({"Name": "full_name", "Mobile": "whatsapp_number", "Age": "age"}) == []


@pytest.mark.parametrize(
    ("text", "years"),
    [("45 Y", 45), ("45Y", 45), ("62 yrs", 62), ("38 Years", 38), ("45 Yrs.", 45), ("7 y", 7)],
)
def test_ages_become_estimated_birth_dates(text, years):
    assert importer.parse_age(text, bare_number=False) == estimated_dob(years)


def test_months_and_days_and_what_is_not_an_age():
    six_months = importer.parse_age("6 M", bare_number=False)
    assert six_months is not None and 150 < (dt.date.today() - six_months).days < 215
    assert importer.parse_age("1 Y 6 M", bare_number=False) < estimated_dob(1)
    assert importer.parse_age("45", bare_number=True) == estimated_dob(45)
    for text in ("45", "14/03/1961", "", "Y", "130 Y", "forty"):
        assert importer.parse_age(text, bare_number=False) is None, text


def test_honorifics_are_stripped_and_initials_read():
    assert importer.strip_honorifics("Smt. Lakshmi Iyer") == "Lakshmi Iyer"
    assert importer.strip_honorifics("Mrs.Sunita Sharma") == "Sunita Sharma"
    assert importer.strip_honorifics("Dr. Mrs. Kavita Rao") == "Kavita Rao"
    for name in ("Mr Ravi", "SHRI Ravi", "Kum. Ravi", "Dr Ravi", "Mr. Ravi"):
        assert importer.strip_honorifics(name) == "Ravi", name
    assert importer.strip_honorifics("Drishti Mehta") == "Drishti Mehta"
    assert importer.strip_honorifics("Mr.") == "Mr."  # nothing else: left for validation to see
    assert importer.split_name("K. S. Ramesh") == ("Ramesh", "K. S.")
    assert importer.split_name("R.Lakshmi") == ("Lakshmi", "R.")
    assert importer.split_name("Ramesh K S") == ("Ramesh", "K S")
    assert importer.split_name("S. முருகன்") == ("முருகன்", "S.")
    assert importer.split_name("Anita Desai") == ("Anita", "Desai")


def test_formula_cells_are_escaped_on_export_and_read_back_as_they_were():
    for value in ("=1+2", "+91 98450", "-5", "@SUM(A1)", "\t=x", "  =x"):
        assert safe_cell(value) == f"'{value}"
        assert unescape_cell(safe_cell(value)) == value
    assert safe_cell("Asha") == "Asha" and unescape_cell("'quoted'") == "'quoted'"


# --- the whole flow -----------------------------------------------------------------------------


def test_preview_holds_possible_duplicates_by_the_registration_rules(clinic_a):
    known = existing_patients(clinic_a)
    patient_import = map_it(clinic_a, upload(clinic_a, MESSY))
    assert patient_import.mapping == MESSY_MAPPING
    held = {entry["row"]: entry for entry in patient_import.review["rows"]}
    assert sorted(held) == [2, 6, 7, 12]
    assert held[2]["candidates"] == [
        {"id": str(known["lakshmi"].pk), "reasons": ["same phone number", "similar name and date of birth"]}
    ]
    assert held[6]["candidates"][0]["id"] == str(known["rafiq"].pk)
    assert held[7]["candidates"] == [{"id": str(known["lakshmi"].pk), "reasons": ["same phone number"]}]
    assert held[7]["rows"] == [{"row": 2, "reasons": ["same phone number"]}]  # Anita shares Lakshmi's phone
    assert held[12]["candidates"] == [{"id": str(known["sreenivas"].pk), "reasons": ["similar name and date of birth"]}]
    with tenant_context(clinic_a.clinic):
        owner = user(clinic_a, "owner")
        _, outcomes = importer.patient_import_preview(patient_import=patient_import, actor=owner)
        rows = {row.number: row for row in importer.review_rows(patient_import, user=owner)}
    by_row = {o.number: o for o in outcomes}
    assert by_row[2].held and by_row[3].fields["given_name"] == "Ramesh" and not by_row[3].held
    assert by_row[5].guardian_pending and not by_row[5].errors  # Kum. Priya, 11, guardian's name only
    assert "header has 10" in by_row[10].errors["row"][0]
    assert rows[2].choices[0] == (f"merge:{known['lakshmi'].pk}", f"Merge into {known['lakshmi'].mrn}")


def test_another_branchs_patient_is_not_named_and_cannot_be_merged_into(clinic_a, client_for):
    known = existing_patients(clinic_a)
    restrict(clinic_a, "owner", 0)  # works at the main branch only; Rafiq is registered at the other
    patient_import = map_it(clinic_a, upload(clinic_a, MESSY))
    page = client_for(clinic_a, "owner").get(f"/patients/import/{patient_import.pk}/").content.decode()
    assert "a possible duplicate at another branch" in page
    assert known["rafiq"].mrn not in page and known["lakshmi"].mrn in page
    assert f"merge:{known['rafiq'].pk}" not in page
    with tenant_context(clinic_a.clinic), pytest.raises(ValidationError, match="you can open"):
        importer.patient_import_decide(
            patient_import=patient_import, choices={6: f"merge:{known['rafiq'].pk}"}, actor=user(clinic_a, "owner")
        )


def test_decisions_are_stored_and_honoured_once(clinic_a, client_for, monkeypatch, django_capture_on_commit_callbacks):
    known = existing_patients(clinic_a)
    patient_import = map_it(clinic_a, upload(clinic_a, MESSY))
    client = client_for(clinic_a, "owner")
    response = client.post(
        f"/patients/import/{patient_import.pk}/decisions",
        {"decision_2": f"merge:{known['lakshmi'].pk}", "decision_6": "skip", "decision_7": "create", "decision_12": ""},
    )
    assert response.status_code == 302
    patient_import.refresh_from_db()
    assert {row: d["action"] for row, d in patient_import.decisions.items()} == {
        "2": "merge",
        "6": "skip",
        "7": "create",
    }
    with tenant_context(clinic_a.clinic):
        decided = AuditEvent.objects.get(action="patient_import.decide", object_id=str(patient_import.pk))
        assert decided.metadata == {"merge": 1, "create": 1, "skip": 1, "undecided": 1}

    done = run(clinic_a, patient_import)
    counts = (done.created_count, done.merged_count, done.skipped_count, done.held_count, done.error_count)
    assert counts == (6, 1, 1, 1, 2)
    with tenant_context(clinic_a.clinic):
        lakshmi = Patient.objects.get(pk=known["lakshmi"].pk)
        assert lakshmi.external_ref == "R-1001" and lakshmi.guardian_name == "Venkat Iyer"  # no "Mr."
        assert lakshmi.allergies == "Penicillin" and lakshmi.address == "12, 4th Cross\nJayanagar"
        assert not Patient.objects.filter(external_ref="R-1005").exists()  # skipped
        anita = Patient.objects.get(external_ref="R-1006")
        assert anita.phone == "+919845011111" and anita.dob_is_estimated and anita.date_of_birth == estimated_dob(62)
        ramesh = Patient.objects.get(external_ref="R-1002")
        assert (ramesh.given_name, ramesh.family_name, ramesh.sex) == ("Ramesh", "K. S.", "M")
        assert ramesh.address == 'Flat 3, "Green Acres", MG Road' and ramesh.allergies == "Dust"
        assert ramesh.date_of_birth == estimated_dob(45) and ramesh.dob_is_estimated
        sunita = Patient.objects.get(external_ref="R-1003")
        assert (sunita.given_name, sunita.date_of_birth, sunita.allergies) == (
            "Sunita",
            dt.date(1988, 6, 5),
            "Sulfa\nAspirin",
        )
        assert Patient.objects.get(external_ref="R-1007").given_name == "सुनीता"
        assert Patient.objects.get(external_ref="R-1008").given_name == "முருகன்"
        priya = Patient.objects.get(external_ref="R-1004")
        assert priya.given_name == "Priya" and priya.guardian_name == "Ramesh Kumar" and not priya.guardian_phone
        assert GUARDIAN_FOLLOW_UP_TAG in priya.tags and done.follow_up == [str(priya.pk)]
        assert not Patient.objects.filter(external_ref__in=["R-1009", "R-1010", "R-1011"]).exists()
        assert not Patient.objects.filter(given_name__in=["Smt.", "Mrs.", "Dr.", "Kum.", "Mr."]).exists()
        assert AuditEvent.objects.filter(action="patient_import.merge_row", object_id=str(lakshmi.pk)).count() == 1
    page = client.get(f"/patients/import/{done.pk}/").content.decode()
    assert "Guardian details needed (1)" in page and priya.mrn in page
    assert "Held for review after the import" in page and known["sreenivas"].mrn in page

    # Deciding about the row held after the run queues the task, which applies it once.
    queued: list[str] = []
    monkeypatch.setattr("patients.tasks.patient_import_run_task.delay", lambda import_id: queued.append(import_id))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/patients/import/{done.pk}/decisions", {"decision_12": "create"})
    assert queued == [str(done.pk)]
    done.refresh_from_db()
    assert done.status == "running"
    again = run(clinic_a, done)
    assert (again.created_count, again.held_count, again.merged_count) == (7, 0, 1)
    with tenant_context(clinic_a.clinic):
        assert importer.patient_import_run(import_id=done.pk) == "done"  # a redelivered task: nothing twice
        assert Patient.objects.filter(external_ref="R-1011").count() == 1
        total = Patient.objects.count()

    # The same list again: said so before it starts, and nobody is added twice.
    second = map_it(clinic_a, upload(clinic_a, MESSY, name="export (1).csv"))
    with tenant_context(clinic_a.clinic):
        assert [i.pk for i in importer.earlier_imports(second, user=user(clinic_a, "owner"))] == [done.pk]
    assert "This list was already imported" in client.get(f"/patients/import/{second.pk}/").content.decode()
    assert sorted(e["row"] for e in second.review["rows"]) == [6]  # only the row skipped by decision
    rerun = run(clinic_a, second)
    assert (rerun.created_count, rerun.merged_count, rerun.held_count) == (0, 0, 1)
    with tenant_context(clinic_a.clinic):
        assert Patient.objects.count() == total


def test_error_report_escapes_formulas_and_does_not_repeat_its_columns_when_imported(clinic_a, client_for):
    done = run(clinic_a, map_it(clinic_a, upload(clinic_a, MESSY)))
    assert done.error_count == 2
    report = client_for(clinic_a, "owner").get(f"/patients/import/{done.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Errors", *importer.parse_file(MESSY).headers]
    assert [r[0] for r in rows[1:]] == ["10", "11"]
    assert "Row: This row has 8 fields but the header has 10" in rows[1][1]
    assert rows[2][3] == "'=cmd|' /C calc'!A0" and "Phone" in rows[2][1]

    # Fixed and uploaded again: the report's own columns go, the escape is undone, then re-applied.
    again = upload(clinic_a, report.content)
    with tenant_context(clinic_a.clinic):
        parsed = importer.import_rows(again)
    assert parsed.headers == rows[0][2:] and parsed.rows[1][1] == "=cmd|' /C calc'!A0"
    second = run(clinic_a, map_it(clinic_a, again))
    second_report = client_for(clinic_a, "owner").get(f"/patients/import/{second.pk}/errors.csv")
    rows_again = list(csv.reader(io.StringIO(second_report.content.decode("utf-8-sig"))))
    assert rows_again[0] == rows[0] and rows_again[2][3] == "'=cmd|' /C calc'!A0"


def _xlsx_with_cached_values(rows: list[list[object]], cached: dict[str, str]) -> bytes:
    """An .xlsx made with openpyxl, with the cached results Excel would have stored for formula cells."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, value in cached.items():
                    text, n = re.subn(
                        rf'<c r="{ref}"><f>(.*?)</f><v\s*/>', rf'<c r="{ref}" t="str"><f>\1</f><v>{value}</v>', text
                    )
                    assert n == 1, ref
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


def test_excel_workbook_is_imported_with_cached_formula_values(clinic_a):
    register(clinic_a, given_name="Lakshmi", family_name="Iyer", phone="9845011111", date_of_birth=dt.date(1961, 3, 14))
    data = _xlsx_with_cached_values(
        [
            ["UHID", "Patient Name", "Sex", "DOB", "Mobile No.", "Guardian", "Notes"],
            ["X-1", "Smt. Lakshmi Iyer", "F", dt.datetime(1961, 3, 14), 9845011111, None, None],
            ["X-2", "Shri K. Venkatesh", "M", "62 yrs", '="98450"&"99999"', None, "=HYPERLINK(1)"],
            ["X-3", "Master Arjun", "M", dt.date(2016, 5, 1), 9845012345.0, "Deepa", None],
            ["X-4", "Ravi", "M", "1980-01-01"],  # a short row: its last cells are simply empty
        ],
        cached={"E3": "9845099999", "G3": "Open"},
    )
    patient_import = upload(clinic_a, data, name="export.xlsx")
    assert patient_import.storage_name.endswith(".xlsx.enc") and patient_import.total_rows == 4
    assert not read_raw(patient_import.storage_name).startswith(b"PK")  # encrypted at rest
    assert patient_import.mapping == {
        "UHID": "external_ref",
        "Patient Name": "full_name",
        "Sex": "sex",
        "DOB": "date_of_birth",
        "Mobile No.": "phone",
        "Guardian": "guardian_name",
    }
    mapped = map_it(clinic_a, patient_import)
    assert [e["row"] for e in mapped.review["rows"]] == [2]  # Lakshmi, registered without the source id
    done = run(clinic_a, mapped)
    assert (done.created_count, done.held_count, done.error_count) == (3, 1, 0)
    with tenant_context(clinic_a.clinic):
        venkatesh = Patient.objects.get(external_ref="X-2")
        assert (venkatesh.given_name, venkatesh.family_name) == ("Venkatesh", "K.")
        assert venkatesh.phone == "+919845099999" and venkatesh.date_of_birth == estimated_dob(62)
        arjun = Patient.objects.get(external_ref="X-3")
        assert arjun.date_of_birth == dt.date(2016, 5, 1) and arjun.phone == "+919845012345"
        assert GUARDIAN_FOLLOW_UP_TAG in arjun.tags
        assert Patient.objects.get(external_ref="X-4").given_name == "Ravi"


def test_old_excel_and_damaged_workbooks_are_refused(clinic_a):
    for data, message in [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        (b"PK\x03\x04not really a zip", "not a readable Excel"),
    ]:
        with pytest.raises(ValidationError, match=message):
            upload(clinic_a, data)


def test_every_remaining_held_row_can_be_decided_at_once(clinic_a, client_for):
    existing_patients(clinic_a)
    patient_import = map_it(clinic_a, upload(clinic_a, MESSY))
    page = client_for(clinic_a, "owner").get(f"/patients/import/{patient_import.pk}/").content.decode()
    assert "Held for review: possible duplicates (4)" in page
    client_for(clinic_a, "owner").post(
        f"/patients/import/{patient_import.pk}/decisions", {"decision_2": "skip", "rest": "create"}
    )
    patient_import.refresh_from_db()
    assert {row: d["action"] for row, d in patient_import.decisions.items()} == {
        "2": "skip",
        "6": "create",
        "7": "create",
        "12": "create",
    }
    done = run(clinic_a, patient_import)
    assert (done.created_count, done.skipped_count, done.held_count, done.error_count) == (8, 1, 0, 2)


def test_a_new_mapping_clears_the_decisions(clinic_a):
    existing_patients(clinic_a)
    patient_import = map_it(clinic_a, upload(clinic_a, MESSY))
    with tenant_context(clinic_a.clinic):
        owner = user(clinic_a, "owner")
        importer.patient_import_decide(patient_import=patient_import, choices={2: "skip"}, actor=owner)
        mapping = {**patient_import.mapping, "Allergies": ""}
        changed = importer.patient_import_set_mapping(patient_import=patient_import, mapping=mapping, actor=owner)
    assert changed.decisions == {}


def test_utf16_tab_separated_unicode_text_is_read():
    data = "\ufeffName\tMobile\r\nसुनीता देवी\t98450 12121\r\n".encode("utf-16-le")
    parsed = importer.parse_file(data)
    assert parsed.headers == ["Name", "Mobile"] and parsed.rows == [["सुनीता देवी", "98450 12121"]]
