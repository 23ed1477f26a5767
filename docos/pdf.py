"""The PDF kernel: a Django template rendered to HTML, laid out by WeasyPrint, returned as bytes.

Every document (prescriptions now; consent forms, certificates and invoices later) goes through
`render_pdf`, which gives templates the clinic's letterhead, the verification code with its QR
image and the page size, and lays the HTML out with `SafeURLFetcher`:

- `docos-static:<path>` and `file://` URLs are served only from our own static folders
  (settings.STATICFILES_DIRS), after resolving symlinks and `..`;
- `docos-asset:<name>` serves the in-memory images this render was given (the clinic logo, the
  verification QR code) and nothing else;
- everything else is refused without any I/O: http(s) (no request ever leaves the process, so a
  note cannot make the server call an internal address), other `file://` paths, `data:` URLs
  (our own QR code is served as an asset, so there is no legitimate `data:` URL at all), ftp.
  There is no HTTP client, hence no redirects to follow either.

User text reaches the HTML only through Django's auto-escaping, so it cannot add elements or
URLs in the first place; the fetcher is the second wall. Templates live in templates/pdf/ and
extend pdf/base.html. Import this module lazily (WeasyPrint takes ~0.5 s to import).
"""

from __future__ import annotations

import gc
import logging
import mimetypes
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from docos.qr import qr_png

logger = logging.getLogger(__name__)

PAGE_SIZES = ("A4", "A5")
ASSET_SCHEME = "docos-asset"
STATIC_SCHEME = "docos-static"
LOGO_MAX_BYTES = 1024 * 1024
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


class FetchRefused(ValueError):
    """A URL the PDF renderer may not load. WeasyPrint logs it and leaves the resource out."""


@dataclass(frozen=True)
class PdfAsset:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Letterhead:
    """What prints at the top of every page: the clinic and the location that issued the document."""

    name: str
    address: str = ""
    gstin: str = ""
    phone: str = ""
    location_name: str = ""
    registration_number: str = ""
    logo: PdfAsset | None = None


@dataclass(frozen=True)
class Verification:
    """The document's public verification code and the URL its QR code points to."""

    code: str
    url: str


# --- the URL fetcher -----------------------------------------------------------------------------


def _static_roots() -> list[Path]:
    roots = []
    for entry in settings.STATICFILES_DIRS:
        folder = entry[1] if isinstance(entry, (tuple, list)) else entry
        roots.append(Path(folder).resolve())
    return roots


def static_file(path: str, *, absolute: bool = False) -> Path:
    """Our static file at `path` (relative to a static folder; or an absolute path inside one when
    `absolute`), after resolving symlinks and `..`. Raises FetchRefused for anything else."""
    if not path or "\x00" in path:
        raise FetchRefused("empty or invalid static path")
    given = Path(path) if absolute else Path(path.lstrip("/"))
    if given.is_absolute() != absolute:
        raise FetchRefused("not one of our static files")
    for root in _static_roots():
        try:
            resolved = (given if absolute else root / given).resolve()
        except (OSError, RuntimeError):
            continue
        if resolved.is_relative_to(root) and resolved.is_file():
            return resolved
    raise FetchRefused("not one of our static files")


class SafeURLFetcher(URLFetcher):
    """Serves our static files and this render's own assets; refuses every other URL (see module doc)."""

    def __init__(self, assets: Mapping[str, PdfAsset] | None = None) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=[ASSET_SCHEME, STATIC_SCHEME, "file"],
            allow_redirects=False,
            fail_on_errors=False,
        )
        self.assets = dict(assets or {})
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        try:
            response = self._serve(url)
        except FetchRefused:
            self.refused.append(url)
            # The scheme only: a URL could carry text from the document.
            logger.warning("PDF renderer refused a %s: URL", url.partition(":")[0][:20] or "relative")
            raise
        self.served.append(url)
        return response

    def _serve(self, url: str) -> URLFetcherResponse:
        scheme, _, rest = url.partition(":")
        scheme = scheme.lower()
        if scheme == ASSET_SCHEME:
            asset = self.assets.get(unquote(rest))
            if asset is None:
                raise FetchRefused("unknown asset")
            return URLFetcherResponse(url, asset.data, {"Content-Type": asset.content_type})
        if scheme == STATIC_SCHEME:
            path = static_file(unquote(urlsplit(url).path))
        elif scheme == "file":
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise FetchRefused("remote file URL")
            path = static_file(url2pathname(parts.path), absolute=True)
        else:
            raise FetchRefused(f"scheme {scheme!r} is not allowed")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


# --- letterhead and verification -------------------------------------------------------------------


def sniff_image(data: bytes) -> str | None:
    """The content type of PNG or JPEG bytes, else None (a logo's type comes from its bytes)."""
    for signature, content_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def clinic_logo(clinic: Any) -> PdfAsset | None:
    """The clinic's uploaded logo as an asset, if it has one that is really a small PNG or JPEG."""
    field = getattr(clinic, "logo", None)
    if not field:
        return None
    try:
        with field.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except OSError:
        logger.warning("Clinic logo could not be read; printing without it")
        return None
    content_type = sniff_image(data)
    if content_type is None or len(data) > LOGO_MAX_BYTES:
        return None
    return PdfAsset(data, content_type)


def letterhead_for(clinic: Any, location: Any = None, *, sole_location: bool = False) -> Letterhead:
    """The clinic's name and logo with the issuing location's own address, phone, GSTIN and
    registration. A document never prints another branch's address: the clinic's billing address
    stands in for a missing one only when no location is named or the location is the clinic's
    only one (`sole_location`)."""
    address = (getattr(location, "address", "") or "").strip()
    if not address and (location is None or sole_location):
        address = (clinic.billing_address or "").strip()
    return Letterhead(
        name=clinic.name,
        address=address,
        gstin=(getattr(location, "gstin", "") or clinic.gstin or "").strip(),
        phone=getattr(location, "phone", "") or "",
        location_name=getattr(location, "name", "") or "",
        registration_number=(getattr(location, "registration_number", "") or "").strip(),
        logo=clinic_logo(clinic),
    )


# --- rendering -------------------------------------------------------------------------------------

_local = threading.local()


def _font_config() -> FontConfiguration:
    # One per thread: building it costs ~10 ms per render, and our templates add no @font-face.
    config: FontConfiguration | None = getattr(_local, "font_config", None)
    if config is None:
        config = _local.font_config = FontConfiguration()
    return config


@lru_cache(maxsize=len(PAGE_SIZES))
def _page_css(page_size: str) -> CSS:
    return CSS(string=f"@page {{ size: {page_size}; }}", url_fetcher=SafeURLFetcher())


@lru_cache(maxsize=16)
def _parsed_stylesheet(path: Path, mtime_ns: int) -> CSS:
    # Parsing and compiling the selectors of pdf.css costs ~40 ms; a parsed CSS object is reused
    # read-only by every document (keyed by modification time, so edits show up without a restart).
    return CSS(url=f"{STATIC_SCHEME}:{path.as_posix()}", url_fetcher=SafeURLFetcher())


def stylesheet(name: str) -> CSS:
    """A stylesheet from our static folders (e.g. "css/pdf.css"), parsed once per version of the file."""
    path = static_file(name)
    root = next(root for root in _static_roots() if path.is_relative_to(root))
    return _parsed_stylesheet(path.relative_to(root), path.stat().st_mtime_ns)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while WeasyPrint lays a document out.

    A layout allocates hundreds of thousands of boxes, styles and text runs that live until the PDF is
    written; each allocation burst triggers a collection that walks all of them again and frees
    nothing (they are all alive), which costs about a third of a long invoice's render. Reference
    counting still frees what dies, so memory stays bounded by one document's layout; the collector
    resumes (and catches up with any cycles) once the last concurrent render in this process ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def html_to_pdf(
    html: str,
    *,
    page_size: str = "A4",
    assets: Mapping[str, PdfAsset] | None = None,
    fetcher: SafeURLFetcher | None = None,
    stylesheets: tuple[str, ...] = (),
) -> bytes:
    """Lay out trusted HTML (from our templates) with the safe fetcher. Prefer `render_pdf`.

    `stylesheets` names static files (e.g. "css/pdf.css") applied besides any the HTML links."""
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {', '.join(PAGE_SIZES)}")
    fetcher = fetcher if fetcher is not None else SafeURLFetcher(assets)
    sheets = [stylesheet(name) for name in stylesheets] + [_page_css(page_size)]
    with cyclic_gc_paused():
        document = HTML(string=html, url_fetcher=fetcher, media_type="print")
        pdf = document.write_pdf(stylesheets=sheets, font_config=_font_config())
    if pdf is None:  # only when a target is given
        raise RuntimeError("WeasyPrint returned no PDF")
    return bytes(pdf)


def render_pdf(
    template_name: str,
    context: Mapping[str, Any],
    *,
    page_size: str = "A4",
    letterhead: Letterhead | None = None,
    verification: Verification | None = None,
    assets: Mapping[str, PdfAsset] | None = None,
    stylesheets: tuple[str, ...] = ("css/pdf.css",),
) -> bytes:
    """Render `template_name` (extending pdf/base.html) to PDF bytes, styled by `stylesheets`
    (static files, parsed once and reused).

    The template sees `letterhead`, `logo_src`, `verification`, `qr_src`, `page_size` and
    `page_class` besides `context`. Page size is "A4" or "A5".
    """
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {', '.join(PAGE_SIZES)}")
    all_assets = dict(assets or {})
    full_context = dict(context)
    full_context.update(
        letterhead=letterhead,
        verification=verification,
        page_size=page_size,
        page_class=f"page-{page_size.lower()}",
        logo_src="",
        qr_src="",
    )
    if letterhead is not None and letterhead.logo is not None:
        all_assets["logo"] = letterhead.logo
        full_context["logo_src"] = f"{ASSET_SCHEME}:logo"
    if verification is not None:
        all_assets["qr"] = PdfAsset(qr_png(verification.url), "image/png")
        full_context["qr_src"] = f"{ASSET_SCHEME}:qr"
    html = render_to_string(template_name, full_context)
    return html_to_pdf(html, page_size=page_size, assets=all_assets, stylesheets=stylesheets)


def harfbuzz_subsetting_active() -> bool:
    """Whether WeasyPrint embeds font subsets made by HarfBuzz (fast) rather than by fontTools."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
