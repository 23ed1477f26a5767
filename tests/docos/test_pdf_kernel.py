"""docos.pdf: the URL fetcher serves only our static files and the render's own assets; pages
come out in A4 or A5 with the letterhead and the verification QR code."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from docos import pdf
from docos.qr import qr_png


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _image_count(data: bytes) -> int:
    reader = PdfReader(io.BytesIO(data))
    return sum(len(page.images) for page in reader.pages)


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it receives (it must receive none)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(qr_png("leak"))

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_http_urls_are_never_requested(recording_server):
    base, seen = recording_server
    html = f"""<html><head><link rel="stylesheet" href="{base}/style.css">
    <style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png"); }}
    @font-face {{ font-family: X; src: url("{base}/font.woff"); }}</style></head>
    <body><img src="{base}/img.png"><object data="{base}/obj.png"></object><embed src="{base}/embed.png">
    <img src="https://127.0.0.1:{base.rsplit(":", 1)[1]}/tls.png"><p>Body text</p></body></html>"""
    fetcher = pdf.SafeURLFetcher()
    data = pdf.html_to_pdf(html, fetcher=fetcher)
    assert seen == []
    assert "Body text" in _text(data)
    assert _image_count(data) == 0
    assert len(fetcher.refused) >= 6 and fetcher.served == []


def test_sanity_the_recording_server_does_record(recording_server):
    # Proves the test above could fail: a plain fetch reaches the server.
    import urllib.request

    base, seen = recording_server
    urllib.request.urlopen(f"{base}/probe", timeout=5).read()
    assert seen == ["/probe"]


def test_file_urls_outside_static_are_refused():
    html = """<html><head><link rel="stylesheet" href="file:///etc/passwd"></head><body>
    <img src="file:///etc/passwd"><object data="file:///etc/passwd"></object><p>After</p></body></html>"""
    fetcher = pdf.SafeURLFetcher()
    data = pdf.html_to_pdf(html, fetcher=fetcher)
    assert "root:" not in _text(data)
    assert b"root:x:0:0" not in data
    assert fetcher.served == []
    assert "file:///etc/passwd" in fetcher.refused


def test_path_traversal_and_symlinks_out_of_static_are_refused(tmp_path, settings):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "ok.css").write_text("p { color: red; }")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (static / "link.txt").symlink_to(secret)
    settings.STATICFILES_DIRS = [static]
    assert pdf.static_file("css/ok.css") == (static / "css" / "ok.css").resolve()
    for bad in ("../secret.txt", "css/../../secret.txt", "link.txt", "", "css/ok.css\x00"):
        with pytest.raises(pdf.FetchRefused):
            pdf.static_file(bad)
    with pytest.raises(pdf.FetchRefused):
        pdf.static_file(str(secret), absolute=True)
    assert pdf.static_file(str(static / "css" / "ok.css"), absolute=True).name == "ok.css"


def test_data_urls_and_unknown_assets_are_refused_but_own_assets_are_served():
    png = qr_png("https://example.test/verify/RX-ABCDEF")
    import base64

    data_uri = "data:image/png;base64," + base64.b64encode(png).decode()
    html = f"""<html><body><img src="{data_uri}"><img src="docos-asset:qr"><img src="docos-asset:other">
    <img src="ftp://127.0.0.1/x.png"><img src="relative.png"></body></html>"""
    fetcher = pdf.SafeURLFetcher({"qr": pdf.PdfAsset(png, "image/png")})
    data = pdf.html_to_pdf(html, fetcher=fetcher)
    assert fetcher.served == ["docos-asset:qr"]
    assert data_uri in fetcher.refused and "docos-asset:other" in fetcher.refused
    assert any(url.startswith("ftp:") for url in fetcher.refused)
    assert _image_count(data) == 1


def test_our_static_files_are_served_by_both_schemes():
    css = Path(settings.STATICFILES_DIRS[0]) / "css" / "pdf.css"
    fetcher = pdf.SafeURLFetcher()
    assert fetcher.fetch("docos-static:css/pdf.css").read() == css.read_bytes()
    assert fetcher.fetch(css.resolve().as_uri()).read() == css.read_bytes()
    assert fetcher.fetch("docos-static:css/pdf.css").content_type == "text/css"


class _Clinic:
    name = "Sunrise <Family> Clinic"
    billing_address = "14, 80 Feet Road, Bengaluru"
    gstin = "29AAGCS1234K1Z7"
    logo = None


class _Location:
    name = "Koramangala"
    address = "14, 80 Feet Road, Bengaluru"
    phone = "+91 80 4123 4567"
    gstin = ""
    registration_number = "KPME/BBMP/2019/04127"


class _NewBranch(_Location):
    name = "Indiranagar"
    address = ""
    registration_number = ""


@pytest.mark.parametrize(("size", "points"), [("A4", (595, 842)), ("A5", (420, 595))])
def test_render_pdf_prints_letterhead_and_verification_in_a4_and_a5(size, points):
    letterhead = pdf.letterhead_for(_Clinic(), _Location())
    verification = pdf.Verification(code="RX-7K2M9Q", url="http://testserver.local/verify/RX-7K2M9Q")
    data = pdf.render_pdf("pdf/base.html", {}, page_size=size, letterhead=letterhead, verification=verification)
    reader = PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points
    text = _text(data)
    for expected in (
        "Sunrise <Family> Clinic",
        "Koramangala",
        "14, 80 Feet Road",
        "GSTIN 29AAGCS1234K1Z7",
        "+91 80 4123 4567",
        "Reg. KPME/BBMP/2019/04127",
        "RX-7K2M9Q",
        "http://testserver.local/verify/RX-7K2M9Q",
    ):
        assert expected in text, expected
    assert _image_count(data) == 1  # the QR code


def test_a_branch_without_an_address_prints_the_clinics_only_when_it_is_the_only_branch():
    assert pdf.letterhead_for(_Clinic(), _NewBranch()).address == ""
    assert pdf.letterhead_for(_Clinic(), _NewBranch(), sole_location=True).address == _Clinic.billing_address
    assert pdf.letterhead_for(_Clinic()).address == _Clinic.billing_address  # no location named
    assert pdf.letterhead_for(_Clinic(), _NewBranch()).gstin == _Clinic.gstin  # the clinic's GSTIN stands in


def test_clinic_logo_is_served_only_when_it_really_is_an_image(tmp_path):
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage
    from django.db.models.fields.files import FieldFile

    storage = FileSystemStorage(location=tmp_path)
    png_name = storage.save("logo.png", ContentFile(qr_png("logo")))
    fake_name = storage.save("logo2.png", ContentFile(b"<svg onload=alert(1)>"))

    class _Field:
        def __init__(self, name: str) -> None:
            self.name = name

        def __bool__(self) -> bool:
            return True

        def open(self, mode: str):
            return storage.open(self.name, mode)

    clinic = _Clinic()
    clinic.logo = _Field(png_name)  # type: ignore[assignment]
    letterhead = pdf.letterhead_for(clinic)
    assert letterhead.logo is not None and letterhead.logo.content_type == "image/png"
    data = pdf.render_pdf("pdf/base.html", {}, letterhead=letterhead)
    assert _image_count(data) == 1
    clinic.logo = _Field(fake_name)  # type: ignore[assignment]
    assert pdf.letterhead_for(clinic).logo is None
    assert FieldFile  # the real field type exposes the same open()/bool() used here


def test_unknown_page_size_is_refused():
    with pytest.raises(ValueError):
        pdf.render_pdf("pdf/base.html", {}, page_size="Letter")


def test_qr_png_is_a_valid_png_that_encodes_the_url():
    from PIL import Image

    image = Image.open(io.BytesIO(qr_png("http://testserver.local/verify/RX-7K2M9Q")))
    assert image.format == "PNG" and image.size[0] == image.size[1] > 80


def test_harfbuzz_subsetting_flag_is_reported():
    assert isinstance(pdf.harfbuzz_subsetting_active(), bool)


def test_layout_runs_with_the_cyclic_collector_paused_and_restores_it(monkeypatch):
    import gc

    from weasyprint import HTML

    from docos import pdf

    seen = []
    real_write = HTML.write_pdf
    monkeypatch.setattr(
        HTML, "write_pdf", lambda self, *a, **k: seen.append(gc.isenabled()) or real_write(self, *a, **k)
    )
    assert gc.isenabled()
    assert pdf.html_to_pdf("<p>Namaste</p>").startswith(b"%PDF")
    assert seen == [False] and gc.isenabled()


def test_gc_pause_nests_survives_errors_and_keeps_a_caller_s_own_pause():
    import gc

    from docos.pdf import cyclic_gc_paused

    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer render is still laying out
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("layout failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()
