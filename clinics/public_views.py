"""The public site on the bare base domain: the landing page, and DocOS's own privacy pages (privacy
policy, subprocessors, data deletion, security contact and /.well-known/security.txt).

The privacy pages state what DocOS as built stores and for how long; the periods are read from the
settings the retention rules themselves use (RETENTION_*), so the pages cannot drift from the code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from docos.permissions import public

SECURITY_TXT_DAYS = 180  # RFC 9116 asks for an Expires within a year; the file is written fresh each time


@public
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/landing.html")


def retention_periods() -> dict[str, Any]:
    """The periods the retention rules apply (legal minimums; a clinic may only lengthen the first two)."""
    return {
        "clinical_years": settings.RETENTION_CLINICAL_YEARS,
        "billing_years": settings.RETENTION_BILLING_YEARS,
        "whatsapp_days": settings.RETENTION_WHATSAPP_BODY_DAYS,
        "audit_days": settings.RETENTION_AUDIT_DAYS,
        "export_link_days": settings.PRIVACY_EXPORT_LINK_DAYS,
        "webhook_days": settings.WEBHOOK_EVENT_RETENTION_DAYS,
        "offboarding_cooling_off_days": settings.CLINIC_OFFBOARDING_COOLING_OFF_DAYS,
        "offboarding_archive_days": settings.CLINIC_OFFBOARDING_ARCHIVE_DAYS,
    }


def _context(page: str) -> dict[str, Any]:
    return {
        "page": page,
        "periods": retention_periods(),
        "privacy_email": settings.DOCOS_PRIVACY_EMAIL,
        "security_email": settings.DOCOS_SECURITY_EMAIL,
        "s3": bool(getattr(settings, "DOCOS_S3_BUCKET", "")),
        "sentry": bool(settings.SENTRY_DSN),
    }


@public
def privacy_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/public/privacy.html", _context("privacy"))


@public
def subprocessors(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/public/subprocessors.html", _context("subprocessors"))


@public
def data_deletion(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/public/deletion.html", _context("deletion"))


@public
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/public/security.html", _context("security"))


@public
def security_txt(request: HttpRequest) -> HttpResponse:
    """RFC 9116: who to tell about a vulnerability, and until when this file holds."""
    base = f"https://{request.get_host()}"
    expires = (timezone.now() + dt.timedelta(days=SECURITY_TXT_DAYS)).replace(microsecond=0)
    lines = [
        f"Contact: mailto:{settings.DOCOS_SECURITY_EMAIL}",
        f"Expires: {expires.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en, hi",
        f"Canonical: {base}/.well-known/security.txt",
        f"Policy: {base}/security/",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
