"""Imaging pages: study list and search (clinic, patient), the upload page and its JSON steps
(start, chunk, resume, submit, progress), the viewer and the images it asks for.

Thin views: parse, check the capability (decorators), call one access function, selector or
service, render. Another clinic's or branch's ids give the same 404 as missing ones. Frames are
PNGs rendered on the server; each image request goes through `instance_access` (record-access log).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.guards import staff_user
from accounts.selectors import locations_for
from audit.context import audit_context
from docos.permissions import capability_required
from docos.storage import FileUnavailable
from imaging import selectors, services
from imaging.access import instance_access, study_access, upload_access
from imaging.models import Upload
from imaging.render import THUMBNAIL_PX, RenderError
from patients.access import note_list_reads, patient_access

PAGE_SIZE = 25


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
    return {"__all__": list(exc.messages)}


def _int(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _studies_page(request: HttpRequest, *, patient: Any = None) -> dict[str, Any]:
    user = staff_user(request)
    filters, problems = selectors.filters_from(request.GET)
    studies = selectors.study_search(user=user, filters=filters, patient=patient).select_related("patient", "location")
    page = Paginator(studies, PAGE_SIZE).get_page(request.GET.get("page"))
    note_list_reads(user=user, records=page.object_list, what="imaging list")
    return {
        "page": page,
        "filters": filters,
        "problems": problems,
        "modalities": selectors.MODALITIES,
    }


@require_GET
@capability_required("imaging.view")
def study_list(request: HttpRequest) -> HttpResponse:
    return render(request, "imaging/study_list.html", {**_studies_page(request), "patient": None})


@require_GET
@capability_required("imaging.view")
def patient_studies(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id, what="imaging")
    context = _studies_page(request, patient=patient)
    context.update(patient=patient, uploads=selectors.uploads_for(user=user, patient=patient, limit=5))
    return render(request, "imaging/study_list.html", context)


@require_GET
@capability_required("imaging.upload")
def upload_page(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id, what="imaging upload")
    default = services.default_location(user, patient)
    return render(
        request,
        "imaging/upload.html",
        {
            "patient": patient,
            "locations": list(locations_for(user).filter(is_active=True)),
            "default_location": default,
            "chunk_bytes": services.chunk_max_bytes() // 2,
            "max_files": services.files_max(),
            "uploads": selectors.uploads_for(user=user, patient=patient, limit=5),
            "writable": patient.is_active and patient.merged_into_id is None,
        },
    )


@require_POST
@capability_required("imaging.upload")
def upload_start(request: HttpRequest, patient_id: UUID) -> JsonResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id, what="imaging upload")
    location = None
    raw_location = request.POST.get("location", "")
    if raw_location:
        location = locations_for(user).filter(pk=raw_location).first() if _uuid(raw_location) else None
        if location is None:
            return JsonResponse({"errors": {"location": ["Choose one of your locations."]}}, status=400)
    try:
        upload = services.upload_start(
            patient=patient,
            actor=user,
            files_expected=_int(request.POST.get("files"), 0),
            location=location,
            context=audit_context(request),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse(_upload_json(upload), status=201)


def _uuid(value: str) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def _upload_json(upload: Upload) -> dict[str, Any]:
    return {
        "id": str(upload.pk),
        "status": upload.status,
        "status_label": upload.get_status_display(),
        "files_expected": upload.files_expected,
        "files_total": upload.files_total,
        "files_done": upload.files_done,
        "percent": upload.percent,
        "stored": upload.instances_stored,
        "duplicates": upload.duplicates,
        "errors": upload.errors,
        "skipped": upload.skipped,
        "warnings": sum(1 for row in upload.report or [] if row.get("outcome") == "warning"),
        "finished": upload.is_finished,
        "chunk_url": f"/imaging/uploads/{upload.pk}/chunk",
        "received_url": f"/imaging/uploads/{upload.pk}/received",
        "submit_url": f"/imaging/uploads/{upload.pk}/submit",
        "status_url": f"/imaging/uploads/{upload.pk}/status",
        "page_url": f"/imaging/uploads/{upload.pk}/",
    }


@require_POST
@capability_required("imaging.upload")
def upload_chunk(request: HttpRequest, upload_id: UUID) -> JsonResponse:
    user = staff_user(request)
    upload = upload_access(user, upload_id)
    chunk = request.FILES.get("chunk")
    if chunk is None or (chunk.size or 0) > services.chunk_max_bytes():
        limit = services.chunk_max_bytes() // (1024 * 1024)
        return JsonResponse({"errors": {"chunk": [f"Send the file in chunks of at most {limit} MB."]}}, status=400)
    try:
        part = services.upload_chunk_receive(
            upload=upload,
            actor=user,
            file_index=_int(request.POST.get("file_index")),
            chunk_index=_int(request.POST.get("chunk_index")),
            chunk_count=_int(request.POST.get("chunk_count")),
            name=request.POST.get("name", ""),
            data=chunk.read(),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse({"file_index": part.file_index, "chunk_index": part.chunk_index, "size": part.size})


@require_GET
@capability_required("imaging.upload")
def upload_received(request: HttpRequest, upload_id: UUID) -> JsonResponse:
    upload = upload_access(staff_user(request), upload_id)
    return JsonResponse({**_upload_json(upload), "received": services.upload_received(upload)})


@require_POST
@capability_required("imaging.upload")
def upload_submit(request: HttpRequest, upload_id: UUID) -> JsonResponse:
    user = staff_user(request)
    upload = upload_access(user, upload_id)
    try:
        upload = services.upload_submit(upload=upload, actor=user, context=audit_context(request))
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse(_upload_json(upload))


@require_GET
@capability_required("imaging.upload")
def upload_status(request: HttpRequest, upload_id: UUID) -> JsonResponse:
    upload = upload_access(staff_user(request), upload_id)
    return JsonResponse(_upload_json(upload))


@require_GET
@capability_required("imaging.upload")
def upload_detail(request: HttpRequest, upload_id: UUID) -> HttpResponse:
    upload = upload_access(staff_user(request), upload_id)
    studies = list(upload.studies.order_by("-study_date")) if staff_user(request).has_capability("imaging.view") else []
    return render(
        request,
        "imaging/upload_detail.html",
        {"upload": upload, "patient": upload.patient, "report": upload.report or [], "studies": studies},
    )


@require_GET
@capability_required("imaging.view")
def study_viewer(request: HttpRequest, study_id: UUID) -> HttpResponse:
    study = study_access(staff_user(request), study_id, what="imaging viewer")
    return render(
        request,
        "imaging/viewer.html",
        {
            "study": study,
            "patient": study.patient,
            "series": selectors.study_series(study),
            "manifest_url": reverse("imaging-study-manifest", args=[study.pk]),
        },
    )


@require_GET
@capability_required("imaging.view")
def study_manifest(request: HttpRequest, study_id: UUID) -> JsonResponse:
    study = study_access(staff_user(request), study_id, what="imaging viewer")
    return JsonResponse(selectors.study_manifest(study))


@require_GET
@capability_required("imaging.view")
def instance_frame(request: HttpRequest, instance_id: UUID, frame: int) -> HttpResponse:
    user = staff_user(request)
    instance = instance_access(user, instance_id, what="imaging image")
    window = services.parse_window(request.GET.get("wc"), request.GET.get("ww"))
    thumb = request.GET.get("thumb") == "1"
    try:
        png = services.frame_png(
            instance=instance,
            actor=user,
            frame=frame,
            window=window,
            max_px=THUMBNAIL_PX if thumb else None,
            context=audit_context(request),
        )
    except FileUnavailable as exc:
        return HttpResponse(str(exc), status=410, content_type="text/plain; charset=utf-8")
    except RenderError as exc:
        return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@capability_required("imaging.view")
def instance_metadata(request: HttpRequest, instance_id: UUID) -> HttpResponse:
    user = staff_user(request)
    instance = instance_access(user, instance_id, what="imaging metadata")
    try:
        rows = services.instance_metadata(instance=instance, actor=user, context=audit_context(request))
    except FileUnavailable as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=410)
    return JsonResponse({"image": str(instance.pk), "elements": rows})
