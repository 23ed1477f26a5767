"""DICOMweb endpoints of a clinic (under /dicomweb/ on its host): QIDO-RS and WADO-RS, read only.

DRF views for the authentication (an API token of this clinic, `Authorization: Bearer docos_...`, or a
signed-in session) and the capability check (`imaging.view`); the answers are plain Django responses
in DICOM's media types. Errors are the API's JSON errors (401 without a token of this clinic, 403
without imaging.view, 404 for a study, series or instance that is missing, another clinic's or
another branch's, 400 for a query that cannot be matched, 406 for a media type we do not produce).

Browser viewers on another origin (OHIF) need CORS: origins listed in DICOMWEB_CORS_ORIGINS get it.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.exceptions import NotAcceptable, ParseError
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.guards import staff_user
from audit.context import audit_context
from imaging import dicomweb


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/dicomweb").rstrip("/")


def _dicom_json(payload: Any) -> HttpResponse:
    response = HttpResponse(json.dumps(payload, separators=(",", ":")), content_type=dicomweb.DICOM_JSON)
    response["Cache-Control"] = "private, no-store"
    return response


def _accepts(request: Request, *media_types: str) -> None:
    """406 unless the Accept header allows one of `media_types` (or anything)."""
    accept = request.META.get("HTTP_ACCEPT", "") or "*/*"
    offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    wanted = {m.split(";")[0].lower() for m in media_types}
    if not any(item in wanted or item in ("*/*", "multipart/*", "application/*") for item in offered):
        raise NotAcceptable(f"This resource is available as {', '.join(media_types)}.")


def _multipart_type(request: Request, default: str) -> str:
    """406 unless one multipart/related offer of the Accept header takes `default` (or names no type):
    viewers list several, e.g. a JPEG-LS type first and application/octet-stream after it."""
    accept = request.META.get("HTTP_ACCEPT", "") or "*/*"
    offers = [part.strip() for part in accept.split(",")]
    for offer in offers:
        media, *params = [piece.strip() for piece in offer.split(";")]
        if media.lower() in ("*/*", "multipart/*"):
            return default
        if media.lower() != "multipart/related":
            continue
        types = [p.partition("=")[2].strip().strip('"').lower() for p in params if p.lower().startswith("type=")]
        if not types or types[0] in (default, "*/*", "*"):
            return default
    raise NotAcceptable(f'Retrieve answers multipart/related; type="{default}".')


class DicomWebView(APIView):
    required_capability = "imaging.view"
    schema = None  # DICOMweb is DICOM PS3.18's contract, not part of DocOS's /api/v1 OpenAPI document

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        origin = request.META.get("HTTP_ORIGIN", "")
        allowed = origin and origin in getattr(settings, "DICOMWEB_CORS_ORIGINS", [])
        if request.method == "OPTIONS" and allowed:
            response: Any = HttpResponse(status=204)  # a CORS preflight carries no token
        else:
            response = super().dispatch(request, *args, **kwargs)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = "Authorization, Accept"
            response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            response["Access-Control-Expose-Headers"] = "Content-Type, Content-Length"
            response["Vary"] = "Origin"
        return response


def _query(request: Request, keys: tuple[str, ...]) -> dicomweb.Query:
    try:
        return dicomweb.parse_query(request.query_params, allowed=keys)
    except dicomweb.QueryError as exc:
        raise ParseError(str(exc)) from exc


def _searching(run: Any) -> Any:
    try:
        return run()
    except dicomweb.QueryError as exc:
        raise ParseError(str(exc)) from exc


class StudiesSearch(DicomWebView):
    def get(self, request: Request) -> HttpResponse:
        _accepts(request, dicomweb.DICOM_JSON, "application/json")
        user = staff_user(request)
        query = _query(request, dicomweb.STUDY_KEYS)
        studies = _searching(lambda: dicomweb.search_studies(user, query))
        return _dicom_json([dicomweb.study_json(s, _base_url(request)) for s in studies])


class SeriesSearch(DicomWebView):
    def get(self, request: Request, study_uid: str = "") -> HttpResponse:
        _accepts(request, dicomweb.DICOM_JSON, "application/json")
        user = staff_user(request)
        study = dicomweb.study_by_uid(user, study_uid) if study_uid else None
        keys = dicomweb.SERIES_KEYS if study else dicomweb.SERIES_KEYS + dicomweb.STUDY_KEYS
        query = _query(request, keys)
        rows = _searching(lambda: dicomweb.search_series(user, query, study=study))
        return _dicom_json([dicomweb.series_json(s, _base_url(request)) for s in rows])


class InstancesSearch(DicomWebView):
    def get(self, request: Request, study_uid: str = "", series_uid: str = "") -> HttpResponse:
        _accepts(request, dicomweb.DICOM_JSON, "application/json")
        user = staff_user(request)
        study = dicomweb.study_by_uid(user, study_uid) if study_uid else None
        keys = dicomweb.INSTANCE_KEYS + (() if series_uid else dicomweb.SERIES_KEYS)
        keys += () if study else dicomweb.STUDY_KEYS
        query = _query(request, keys)
        rows = _searching(lambda: dicomweb.search_instances(user, query, study=study, series_uid=series_uid))
        return _dicom_json([dicomweb.instance_json(i, _base_url(request)) for i in rows])


class Retrieve(DicomWebView):
    """WADO-RS: the originals of a study, a series or one instance as multipart/related application/dicom."""

    def get(self, request: Request, study_uid: str, series_uid: str = "", sop_uid: str = "") -> StreamingHttpResponse:
        _accepts(request, "multipart/related")
        _multipart_type(request, "application/dicom")
        user = staff_user(request)
        instances = dicomweb.instances_for_retrieve(user, study_uid, series_uid, sop_uid)
        boundary = dicomweb.new_boundary()
        parts = dicomweb.originals(instances, actor=user, context=audit_context(request))
        response = StreamingHttpResponse(
            dicomweb.multipart(parts, boundary),
            content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
        )
        response["Cache-Control"] = "private, no-store"
        return response


class Metadata(DicomWebView):
    """WADO-RS metadata: every instance's header as DICOM JSON (pixel data left out)."""

    def get(self, request: Request, study_uid: str, series_uid: str = "", sop_uid: str = "") -> HttpResponse:
        _accepts(request, dicomweb.DICOM_JSON, "application/json")
        user = staff_user(request)
        instances = dicomweb.instances_for_retrieve(user, study_uid, series_uid, sop_uid)
        context = audit_context(request)
        return _dicom_json([dicomweb.instance_metadata_json(i, actor=user, context=context) for i in instances])


class Frames(DicomWebView):
    """WADO-RS frames: pixel data of frames (1-based, comma separated) as stored."""

    def get(self, request: Request, study_uid: str, series_uid: str, sop_uid: str, frames: str) -> HttpResponse:
        _accepts(request, "multipart/related")
        _multipart_type(request, "application/octet-stream")
        user = staff_user(request)
        (instance,) = dicomweb.instances_for_retrieve(user, study_uid, series_uid, sop_uid)
        numbers = dicomweb.frame_numbers(frames)
        if len(set(numbers)) != len(numbers):  # "1,1,1,..." would decode the same frame thousands of times
            raise ParseError("Name each frame once.")
        parts = dicomweb.frames(instance, numbers, actor=user, context=audit_context(request))
        boundary = dicomweb.new_boundary()
        response = HttpResponse(
            b"".join(dicomweb.multipart(parts, boundary)),
            content_type=f'multipart/related; type="application/octet-stream"; boundary={boundary}',
        )
        response["Cache-Control"] = "private, no-store"
        return response
