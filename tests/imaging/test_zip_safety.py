"""ZIP uploads: members are counted while they inflate (headers are never trusted), capped by count,
size, total and ratio; symlinks, nested archives, encrypted members and paths leaving the archive
are skipped with a reason; nothing is ever written by member path. The rest of the ZIP is indexed."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from django_tenants.utils import tenant_context

from imaging import archive
from imaging.models import Instance
from tests.clinical.clinical_helpers import clinic_files, make_patient  # noqa: F401
from tests.imaging.imaging_helpers import shipped, synthetic_ct, upload_files, zip_of, zip_with_symlink

pytestmark = pytest.mark.usefixtures("clinic_files")


def _report(upload):
    return {row["file"].split(" / ", 1)[-1]: row for row in upload.report}


def test_a_zip_of_a_cd_folder_is_indexed_and_its_dicomdir_is_skipped(clinic_a):
    patient = make_patient(clinic_a)
    members = [
        ("CD/DICOM/IM000001", shipped("CT_small.dcm")),
        ("CD/DICOM/IM000002", shipped("MR_small.dcm")),
        ("CD/DICOMDIR", shipped("dicomdirtests/DICOMDIR")),
        ("CD/README.TXT", b"Viewer on this CD"),
    ]
    upload = upload_files(clinic_a, patient, [("cd.zip", zip_of(members))])
    assert (upload.files_total, upload.files_done, upload.instances_stored, upload.errors) == (4, 4, 2, 2)
    report = _report(upload)
    assert report["IM000001"]["outcome"] == "stored"
    assert "DICOMDIR" in report["DICOMDIR"]["reason"]
    assert report["README.TXT"]["reason"] == "This is not a DICOM file."
    assert upload.report[0]["file"].startswith("cd.zip / ")


def test_a_zip_bomb_is_stopped_by_the_compression_ratio_while_inflating(clinic_a, settings):
    settings.IMAGING_ZIP_MAX_RATIO = 50
    patient = make_patient(clinic_a)
    bomb = b"\0" * (20 * 1024 * 1024)  # 20 MB of zeros packs to ~20 KB
    upload = upload_files(
        clinic_a, patient, [("bomb.zip", zip_of([("zeros.dcm", bomb), ("ok.dcm", shipped("CT_small.dcm"))]))]
    )
    report = _report(upload)
    assert report["zeros.dcm"]["outcome"] == "skipped"
    assert "inflates more than 50 times" in report["zeros.dcm"]["reason"]
    assert report["ok.dcm"]["outcome"] == "stored"


def test_member_size_total_size_and_member_count_are_capped(clinic_a, settings):
    settings.IMAGING_ZIP_MAX_MEMBER_BYTES = 30_000
    settings.IMAGING_ZIP_MAX_TOTAL_BYTES = 60_000
    settings.IMAGING_ZIP_MAX_MEMBERS = 4
    patient = make_patient(clinic_a)
    small = [synthetic_ct(rows=64, columns=64) for _ in range(3)]  # ~8.6 KB each
    big = synthetic_ct(rows=160, columns=160)  # ~51 KB
    members = [("big.dcm", big), ("a.dcm", small[0]), ("b.dcm", small[1]), ("c.dcm", small[2]), ("e.dcm", small[0])]
    upload = upload_files(clinic_a, patient, [("caps.zip", zip_of(members, compression=zipfile.ZIP_STORED))])
    report = _report(upload)
    assert "more than 0 MB" in report["big.dcm"]["reason"] or "unpacks to more than" in report["big.dcm"]["reason"]
    assert [report[n]["outcome"] for n in ("a.dcm", "b.dcm", "c.dcm")] == ["stored"] * 3
    assert "more than 4 files" in report["e.dcm"]["reason"]
    assert upload.skipped == 2

    settings.IMAGING_ZIP_MAX_MEMBER_BYTES = 100_000
    settings.IMAGING_ZIP_MAX_MEMBERS = 100
    many = [(f"{i}.dcm", synthetic_ct(rows=64, columns=64)) for i in range(9)]
    upload = upload_files(clinic_a, patient, [("total.zip", zip_of(many, compression=zipfile.ZIP_STORED))])
    reasons = [row["reason"] for row in upload.report if row["outcome"] == "skipped"]
    assert upload.instances_stored == 6 and len(reasons) == 3  # 6 x 8.6 KB fit in 60 KB
    assert all("total allowed" in reason for reason in reasons)


def test_a_member_whose_header_understates_its_size_is_counted_not_trusted():
    data = b"\x01" * 300_000
    packed = io.BytesIO(zip_of([("liar.dcm", data)]))
    raw = bytearray(packed.getvalue())
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 10)  # central directory: "uncompressed size 10 bytes"
    local = raw.find(b"PK\x03\x04")
    struct.pack_into("<I", raw, local + 22, 10)
    limits = archive.Limits(max_member_bytes=1000, max_ratio=10_000)
    members = list(archive.iter_members(io.BytesIO(bytes(raw)), limits))
    assert len(members) == 1 and members[0].data is None
    assert members[0].skipped  # refused: it did not inflate to the 10 bytes it claimed


def test_symlinks_nested_archives_traversal_and_encrypted_members_are_skipped(clinic_a, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    patient = make_patient(clinic_a)
    nested = zip_of([("inner.dcm", shipped("CT_small.dcm"))])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("../../etc/evil.dcm", synthetic_ct(rows=32, columns=32))
        zf.writestr("/abs/evil2.dcm", synthetic_ct(rows=32, columns=32))
        zf.writestr("inner.zip", nested)
        zf.writestr("disguised.dcm", nested)
        zf.writestr("ok.dcm", shipped("MR_small.dcm"))
    secret = bytearray(zip_of([("secret.dcm", b"encrypted bytes")], compression=zipfile.ZIP_STORED))
    struct.pack_into("<H", secret, secret.find(b"PK\x03\x04") + 6, 0x1)  # "encrypted" in both headers
    struct.pack_into("<H", secret, secret.rfind(b"PK\x01\x02") + 8, 0x1)
    upload = upload_files(
        clinic_a,
        patient,
        [("mixed.zip", out.getvalue()), ("links.zip", zip_with_symlink()), ("secret.zip", bytes(secret))],
    )
    report = _report(upload)
    assert "outside the archive" in report["evil.dcm"]["reason"]
    assert "outside the archive" in report["evil2.dcm"]["reason"]
    assert "nested archives" in report["inner.zip"]["reason"]
    assert "nested archives" in report["disguised.dcm"]["reason"]
    assert "password" in report["secret.dcm"]["reason"]
    assert "symbolic link" in report["link.dcm"]["reason"]
    assert report["ok.dcm"]["outcome"] == "stored" and report["real.dcm"]["outcome"] == "stored"
    assert list(tmp_path.iterdir()) == []  # nothing written by member path
    with tenant_context(clinic_a.clinic):
        assert Instance.objects.filter(study__patient=patient).count() == 2


def test_a_damaged_zip_and_other_archive_types_are_reported(clinic_a):
    patient = make_patient(clinic_a)
    broken = zip_of([("a.dcm", shipped("CT_small.dcm"))])[:200]
    upload = upload_files(
        clinic_a, patient, [("broken.zip", broken), ("scans.tar.gz", b"\x1f\x8b\x08\x00" + b"\0" * 100)]
    )
    report = {row["file"]: row for row in upload.report}
    assert report["broken.zip"]["outcome"] == "error"
    assert "Only ZIP archives" in report["scans.tar.gz"]["reason"]
    assert upload.status == "done"


def test_display_names_never_carry_paths_or_control_characters():
    assert archive.display_name("../../etc/passwd") == "passwd"
    assert archive.display_name("C:\\scans\\IM1\x07.dcm") == "IM1.dcm"
    assert archive.display_name("folder/") == "folder"
