"""Helpers for the documents, consents and certificates tests: files of real types, signatures."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

from django_tenants.utils import tenant_context
from PIL import Image, ImageDraw

from documents import consents
from documents.models import CertificateTemplate, ConsentTemplate
from tests.clinical.clinical_helpers import signing_doctor, staff

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PROCEDURE_BODY = (
    "I, {{ patient_name }}, agree to {{ procedure }} at {{ clinic_name }} by {{ doctor_name }} on {{ date }}. "
    "The risks were explained to me."
)


def png_bytes(size: tuple[int, int] = (200, 120), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def heic_bytes(major: bytes = b"heic", compatible: bytes = b"mif1heic") -> bytes:
    """The start of an iPhone HEIC photo: an ISO-BMFF `ftyp` box naming the HEVC image brand, then a meta box."""
    body = major + (0).to_bytes(4, "big") + compatible
    ftyp = (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body
    meta = (24).to_bytes(4, "big") + b"meta" + b"\x00" * 16
    return ftyp + meta + b"\x00" * 2048


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("report.txt", "not a pdf")
    return out.getvalue()


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def signature_png(size: tuple[int, int] = (600, 200), *, blank: bool = False, dot: bool = False) -> bytes:
    """A transparent canvas export, with a pen stroke unless `blank` (or only a dot)."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if dot:
        draw.ellipse((100, 100, 103, 103), fill=(20, 20, 60, 255))
    elif not blank:
        points = [(40, 150), (90, 60), (140, 140), (200, 50), (260, 150), (330, 80), (420, 130), (520, 70)]
        draw.line(points, fill=(20, 20, 60, 255), width=5, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


SIGNATURE = data_url(signature_png())


def consent_template(seeded: Any, **fields: Any) -> ConsentTemplate:
    values = {"name": "Procedure consent", "kind": "procedure", "body": PROCEDURE_BODY}
    values.update(fields)
    with tenant_context(seeded.clinic):
        return consents.consent_template_create(actor=staff(seeded, "owner"), **values)


def certificate_template(seeded: Any, **fields: Any) -> CertificateTemplate:
    values = {
        "name": "Sick leave",
        "kind": "sick_leave",
        "body": "{{ patient_name }} was under my care for {{ diagnosis }} and needs rest from {{ from_date }} "
        "to {{ to_date }} ({{ days }} days).",
    }
    values.update(fields)
    with tenant_context(seeded.clinic):
        return consents.certificate_template_create(actor=signing_doctor(seeded), **values)
