"""Public verification of signed documents, on the base domain: /verify/<code>.

Anyone holding a printed or forwarded document can confirm who issued it, what it is and when,
and upload their copy to check that it is byte for byte the issued file. The page shows no PHI:
no patient, no medicines, no doctor. Code lookups (pages and uploads, known codes or not) and
uploads are rate-limited per client address (docos.middleware.ClientIPMiddleware finds it behind
the proxy), so codes cannot be enumerated quickly.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods
from django_tenants.utils import tenant_context

from audit.context import client_ip
from clinics import verification as verifying
from clinics.models import DocumentVerification
from docos.permissions import public

KIND_LABELS = {
    "prescription": "Prescription",
    "consent": "Consent form",
    "certificate": "Medical certificate",
    "invoice": "Invoice",
}


def _issued_on(verification: DocumentVerification) -> str:
    try:
        zone = zoneinfo.ZoneInfo(verification.clinic.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("Asia/Kolkata")
    return verification.issued_at.astimezone(zone).strftime("%d %B %Y")


# kind -> "was this document replaced by a newer version?", read in the issuing clinic's schema
# (only a status, nothing about the patient). Apps that version documents register at start-up.
SupersededCheck = Callable[[str], bool]
_SUPERSEDED_CHECKS: dict[str, SupersededCheck] = {}


def register_superseded_check(kind: str, check: SupersededCheck) -> None:
    _SUPERSEDED_CHECKS[kind] = check


# kind -> the document's public facts for a code, read in the issuing clinic's schema: what a reader
# of the paper can compare (an invoice's number, date, amount and status), never who the patient is.
# Kinds verified by their facts have no hash to compare an upload with.
FactsSource = Callable[[str], list[tuple[str, str]]]
_FACTS: dict[str, FactsSource] = {}


def register_facts(kind: str, source: FactsSource) -> None:
    _FACTS[kind] = source


def _facts(verification: DocumentVerification) -> list[tuple[str, str]]:
    source = _FACTS.get(verification.kind)
    if source is None:
        return []
    with tenant_context(verification.clinic):
        return source(verification.code)


def _superseded(verification: DocumentVerification) -> bool:
    check = _SUPERSEDED_CHECKS.get(verification.kind)
    if check is None:
        return False
    with tenant_context(verification.clinic):
        return check(verification.code)


def _page(request: HttpRequest, verification: DocumentVerification, **extra: Any) -> HttpResponse:
    status = extra.pop("status", 200)
    context = {
        "code": verification.code,
        "kind_label": KIND_LABELS.get(verification.kind, "Document"),
        "issuer_name": verification.clinic.name,
        "issued_on": _issued_on(verification),
        "superseded": _superseded(verification),
        "facts": _facts(verification),
        "byte_check": bool(verification.sha256),
        "max_mb": verifying.UPLOAD_MAX_BYTES // (1024 * 1024),
        **extra,
    }
    response = render(request, "clinics/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@public
@require_GET
def verify_index(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("code", "")
    if raw:
        code = verifying.normalize_code(raw)
        if code is not None:
            return HttpResponseRedirect(f"/verify/{code}")
    return render(request, "clinics/verify_index.html", {"code": raw, "invalid": bool(raw)}, status=400 if raw else 200)


@public
@require_http_methods(["GET", "POST"])
def verify_document(request: HttpRequest, code: str) -> HttpResponse:
    if not verifying.view_allowed(client_ip(request)):
        response = render(request, "clinics/verify_limited.html", status=429)
        response["Retry-After"] = str(verifying.VIEW_WINDOW_SECONDS)
        response["X-Robots-Tag"] = "noindex"
        return response
    verification = verifying.verification_get(code)
    if verification is None:
        response = render(request, "clinics/verify_unknown.html", {"code": code[:20]}, status=404)
        response["X-Robots-Tag"] = "noindex"
        return response
    if code != verification.code and request.method == "GET":
        return HttpResponseRedirect(f"/verify/{verification.code}")
    if request.method != "POST":
        return _page(request, verification)

    if not verification.sha256:
        return _page(
            request,
            verification,
            error="This document is checked by the details above, not by its file: compare them with your copy.",
            status=400,
        )
    if not verifying.upload_allowed(client_ip(request)):
        return _page(
            request,
            verification,
            error="Too many checks from your network. Please wait ten minutes and try again.",
            status=429,
        )
    upload = request.FILES.get("document")
    if upload is None:
        return _page(request, verification, error="Choose the PDF file to check.", status=400)
    if upload.size is not None and upload.size > verifying.UPLOAD_MAX_BYTES:
        return _page(
            request,
            verification,
            error=f"That file is larger than {verifying.UPLOAD_MAX_BYTES // 2**20} MB; it is not this document.",
            status=400,
        )
    upload.seek(0)
    if upload.read(5) != b"%PDF-":
        return _page(request, verification, error="That file is not a PDF. Upload the PDF you received.", status=400)
    upload.seek(0)
    return _page(
        request, verification, result="match" if verifying.upload_matches(verification, upload) else "mismatch"
    )
