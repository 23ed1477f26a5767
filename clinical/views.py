"""HTML pages of the clinical record: visits (with addenda), prescriptions and their PDFs.

Thin views: parse, check the capability (decorators), call one selector or service, render.
Everything is scoped by the selectors: another clinic's or location's ids give the same 404.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from accounts.selectors import is_clinician
from audit.context import audit_context
from clinical import dosing, favourites, icd10, rx_templates, selectors
from clinical import services as clinical
from clinical.allergies import patient_allergies
from clinical.followups import FOLLOW_UP_WINDOW_DAYS, follow_ups_due
from clinical.forms import (
    NOTE_LABELS,
    AddendumForm,
    DiagnosisFormSet,
    PrescriptionForm,
    PrescriptionItemFormSet,
    VisitForm,
    apply_service_errors,
    rows_of,
)
from clinical.models import Prescription, Visit
from clinical.pdf import printed_item
from docos.http import file_unavailable_response
from docos.permissions import capability_required
from docos.storage import FileUnavailable
from patients.access import patient_access, patient_filter_access, records_page
from patients.models import Patient

PAGE_SIZE = 50
ICD10_PAGE_RESULTS = 100


def _page(request: HttpRequest, queryset: Any) -> Page[Any]:
    return records_page(request, queryset, PAGE_SIZE)


def _patient_filter(request: HttpRequest, patient_id: UUID | None) -> Patient | None:
    """The patient of a chart sub-page (/patients/<id>/visits) or of a list's `?patient=` filter."""
    raw = patient_id or request.GET.get("patient", "").strip()
    return patient_filter_access(user=staff_user(request), patient_id=raw)


def _errors_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- visits --------------------------------------------------------------------------------------


@require_GET
@capability_required("clinical.view")
def visit_list(request: HttpRequest, patient_id: UUID | None = None) -> HttpResponse:
    patient = _patient_filter(request, patient_id)
    status = request.GET.get("status", "")
    page = _page(request, selectors.visit_list(user=staff_user(request), patient=patient, status=status))
    return render(
        request,
        "clinical/visit_list.html",
        {
            "page": page,
            "patient": patient,
            "patient_in_path": patient_id is not None,
            "status": status,
            "statuses": Visit.Status.choices,
        },
    )


@require_GET
@capability_required("clinical.view")
def follow_up_list(request: HttpRequest) -> HttpResponse:
    """Patients whose follow-up date has come and who have not been seen since: to call or book."""
    user = staff_user(request)
    today = timezone.localdate()
    page = _page(request, follow_ups_due(user=user, today=today))
    return render(
        request,
        "clinical/follow_up_list.html",
        {"page": page, "today": today, "window_days": FOLLOW_UP_WINDOW_DAYS, "own": is_clinician(user)},
    )


def _visit_form_page(
    request: HttpRequest,
    *,
    patient: Patient,
    form: VisitForm,
    diagnoses: Any,
    visit: Visit | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "clinical/visit_form.html",
        {"patient": patient, "form": form, "diagnoses": diagnoses, "visit": visit},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@capability_required("clinical.edit")
def visit_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    if request.method == "POST":
        form = VisitForm(request.POST, user=user)
        diagnoses = DiagnosisFormSet(request.POST, prefix="diagnoses")
        if form.is_valid() and diagnoses.is_valid():
            try:
                visit = clinical.visit_create(
                    patient=patient,
                    actor=user,
                    diagnoses=rows_of(diagnoses),
                    context=audit_context(request),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, {"diagnoses": diagnoses})
            else:
                messages.success(request, "Visit saved as a draft.")
                return redirect("clinical-visit-detail", visit_id=visit.pk)
        return _visit_form_page(request, patient=patient, form=form, diagnoses=diagnoses, status=400)
    form = VisitForm(user=user, initial={"visit_at": timezone.localtime().replace(second=0, microsecond=0)})
    if form.fields["location"].queryset.count() == 1:  # type: ignore[attr-defined]
        form.initial["location"] = form.fields["location"].queryset.first()  # type: ignore[attr-defined]
    return _visit_form_page(request, patient=patient, form=form, diagnoses=DiagnosisFormSet(prefix="diagnoses"))


@require_GET
@capability_required("clinical.view")
def visit_detail(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    user = staff_user(request)
    visit = selectors.visit_access(user=user, visit_id=visit_id)
    notes = clinical.visit_notes(visit)
    prescriptions = (
        selectors.prescription_list(user=user, patient=visit.patient).filter(visit=visit)
        if user.has_capability("prescriptions.view")
        else None
    )
    return render(
        request,
        "clinical/visit_detail.html",
        {
            "visit": visit,
            "patient": visit.patient,
            "notes": [(key, label, notes.get(key, "")) for key, label in NOTE_LABELS.items()],
            "has_notes": bool(notes),
            "addenda": selectors.visit_addenda(visit),
            "addendum_form": AddendumForm(),
            "prescriptions": prescriptions,
        },
    )


@require_http_methods(["GET", "POST"])
@capability_required("clinical.edit")
def visit_edit(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    user = staff_user(request)
    visit = selectors.visit_access(user=user, visit_id=visit_id)
    if visit.status != Visit.Status.DRAFT:
        messages.warning(request, "This visit is signed and can no longer be edited. Add an addendum instead.")
        return redirect("clinical-visit-detail", visit_id=visit.pk)
    if request.method == "POST":
        form = VisitForm(request.POST, user=user)
        diagnoses = DiagnosisFormSet(request.POST, prefix="diagnoses")
        if form.is_valid() and diagnoses.is_valid():
            try:
                clinical.visit_update(
                    visit=visit,
                    actor=user,
                    diagnoses=rows_of(diagnoses),
                    context=audit_context(request),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, {"diagnoses": diagnoses})
            else:
                messages.success(request, "Visit saved.")
                return redirect("clinical-visit-detail", visit_id=visit.pk)
        return _visit_form_page(request, patient=visit.patient, form=form, diagnoses=diagnoses, visit=visit, status=400)
    form = VisitForm(user=user, initial=VisitForm.initial_for(visit))
    diagnoses = DiagnosisFormSet(prefix="diagnoses", initial=visit.diagnoses or [])
    return _visit_form_page(request, patient=visit.patient, form=form, diagnoses=diagnoses, visit=visit)


@require_POST
@capability_required("clinical.sign")
def visit_sign(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    visit = selectors.visit_access(user=staff_user(request), visit_id=visit_id)
    try:
        clinical.visit_sign(visit=visit, actor=staff_user(request), context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, _errors_message(exc))
    else:
        messages.success(request, "Visit signed. Later changes are added as addenda.")
    return redirect("clinical-visit-detail", visit_id=visit.pk)


@require_POST
@capability_required("clinical.edit")
def visit_addendum(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    user = staff_user(request)
    visit = selectors.visit_access(user=user, visit_id=visit_id)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            clinical.visit_addendum_add(
                visit=visit, actor=user, text=form.cleaned_data["text"], context=audit_context(request)
            )
        except ValidationError as exc:
            messages.error(request, _errors_message(exc))
        else:
            messages.success(request, "Addendum added.")
    else:
        messages.error(request, "Write the addendum before adding it.")
    return HttpResponseRedirect(f"/visits/{visit.pk}/#addenda")


# --- prescriptions -------------------------------------------------------------------------------


@require_GET
@capability_required("prescriptions.view")
def prescription_list(request: HttpRequest, patient_id: UUID | None = None) -> HttpResponse:
    patient = _patient_filter(request, patient_id)
    status = request.GET.get("status", "")
    page = _page(request, selectors.prescription_list(user=staff_user(request), patient=patient, status=status))
    return render(
        request,
        "clinical/prescription_list.html",
        {
            "page": page,
            "patient": patient,
            "patient_in_path": patient_id is not None,
            "status": status,
            "statuses": Prescription.Status.choices,
        },
    )


def _prescription_form_page(
    request: HttpRequest,
    *,
    patient: Patient,
    form: PrescriptionForm,
    items: Any,
    prescription: Prescription | None = None,
    visit: Visit | None = None,
    status: int = 200,
) -> HttpResponse:
    user = staff_user(request)
    child = selectors.child_weight(user=user, patient=patient, visit=visit)
    repeatable = None
    if prescription is None:
        repeatable = rx_templates.last_signed_prescription(user=user, patient=patient)
    return render(
        request,
        "clinical/prescription_form.html",
        {
            "patient": patient,
            "form": form,
            "items": items,
            "prescription": prescription,
            "visit": visit,
            "recorded_allergies": list(patient_allergies(patient, include_resolved=False)),
            "child_weight": child[0] if child else None,
            "child_weight_visit": child[1] if child else None,
            "repeatable": repeatable,
            "repeatable_summary": rx_templates.summary(repeatable) if repeatable else "",
            "templates": list(rx_templates.templates_of(user)) if prescription is None else [],
        },
        status=status,
    )


def _visit_param(request: HttpRequest, patient: Patient) -> Visit | None:
    raw = request.GET.get("visit") or request.POST.get("visit") or ""
    if not raw:
        return None
    visit = selectors.visit_access(user=staff_user(request), visit_id=raw)
    if visit.patient_id != patient.pk:
        raise Http404("No such visit")
    return visit


@require_http_methods(["GET", "POST"])
@capability_required("prescriptions.write")
def prescription_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=staff_user(request), patient_id=patient_id)
    visit = _visit_param(request, patient)
    if request.method == "POST":
        form = PrescriptionForm(request.POST, user=user)
        items = PrescriptionItemFormSet(request.POST, prefix="items")
        if form.is_valid() and items.is_valid():
            try:
                prescription = clinical.prescription_create(
                    patient=patient,
                    actor=user,
                    visit=visit,
                    items=rows_of(items),
                    context=audit_context(request),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, {"items": items})
            else:
                messages.success(request, "Prescription saved as a draft. Check it, then sign.")
                return redirect("clinical-prescription-detail", prescription_id=prescription.pk)
        return _prescription_form_page(request, patient=patient, form=form, items=items, visit=visit, status=400)
    initial: dict[str, Any] = {}
    if visit is not None:
        initial = {"location": visit.location, "follow_up_date": visit.follow_up_date, "general_advice": visit.advice}
    form = PrescriptionForm(user=user, initial=initial)
    if "location" not in initial and form.fields["location"].queryset.count() == 1:  # type: ignore[attr-defined]
        form.initial["location"] = form.fields["location"].queryset.first()  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = [{}]
    template_id = request.GET.get("template", "").strip()
    if template_id:  # one of the doctor's templates; lines without a dose are dosed by a child's weight
        template = rx_templates.template_access(user=user, template_id=template_id)
        child = selectors.child_weight(user=user, patient=patient, visit=visit)
        rows = rx_templates.template_rows(template, child_weight_kg=child[0] if child else None) or [{}]
        if template.general_advice and not form.initial.get("general_advice"):
            form.initial["general_advice"] = template.general_advice
        messages.info(request, f"Started from your template “{template.name}”: check each line, then save.")
    repeat = request.GET.get("repeat", "").strip()
    if repeat:  # "Repeat the last prescription": its lines, to check and save as a new draft
        earlier = selectors.prescription_access(user=user, prescription_id=repeat)
        if earlier.patient_id != patient.pk:
            raise Http404("No such prescription")
        rows = rx_templates.repeat_rows(earlier) or [{}]
        messages.info(
            request, f"Lines copied from the prescription of {earlier.created_at:%d %b %Y}: check them, then save."
        )
    items = PrescriptionItemFormSet(prefix="items", initial=rows)
    return _prescription_form_page(request, patient=patient, form=form, items=items, visit=visit)


def safety_rows(
    prescription: Prescription | None,
    *,
    sign_errors: dict[str, list[str]] | None = None,
    reasons: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A draft's safety findings as the pages show them (templates/clinical/_safety_findings.html):
    each with its reason box's name, the reason typed so far and the errors of the last attempt."""
    if prescription is None:
        return []
    errors, typed = sign_errors or {}, reasons or {}
    return [
        {
            "finding": finding,
            "field": f"override_{finding.code}",
            "reason": typed.get(finding.code, ""),
            "errors": errors.get(f"overrides.{finding.code}", []),
        }
        for finding in clinical.prescription_safety_findings(prescription)
    ]


def _prescription_detail_page(
    request: HttpRequest,
    prescription: Prescription,
    *,
    sign_errors: dict[str, list[str]] | None = None,
    reasons: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The prescription page. A draft shows what its lines lack and its safety findings, each with a
    box for the reason to sign anyway (kept with the prescription, never printed)."""
    user = staff_user(request)
    draft = prescription.status == Prescription.Status.DRAFT
    errors = sign_errors or {}
    findings = safety_rows(prescription if draft else None, sign_errors=errors, reasons=reasons)
    incomplete = clinical.prescription_incomplete_lines(prescription) if draft else {}
    shown = {str(row["field"]).replace("override_", "overrides.", 1) for row in findings} | set(incomplete)
    return render(
        request,
        "clinical/prescription_detail.html",
        {
            "rx": prescription,
            "patient": prescription.patient,
            "items": [printed_item(item) for item in prescription.items.all()],
            "versions": selectors.prescription_versions(prescription, user=user),
            "can_view_visit": user.has_capability("clinical.view")
            and selectors.visits_visible_to(user).filter(prescriptions=prescription).exists(),
            "findings": findings,
            "incomplete": [
                {"line": int(key.split(".")[1]) + 1, "messages": messages} for key, messages in incomplete.items()
            ],
            "sign_errors": [message for key, messages in errors.items() if key not in shown for message in messages],
            "overrides": selectors.prescription_overrides(prescription) if not draft else [],
            "recorded_allergies": list(patient_allergies(prescription.patient, include_resolved=False)),
        },
        status=status,
    )


@require_GET
@capability_required("prescriptions.view")
def prescription_detail(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    prescription = selectors.prescription_access(user=staff_user(request), prescription_id=prescription_id)
    return _prescription_detail_page(request, prescription)


@require_http_methods(["GET", "POST"])
@capability_required("prescriptions.write")
def prescription_edit(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    user = staff_user(request)
    prescription = selectors.prescription_access(user=user, prescription_id=prescription_id)
    if prescription.status != Prescription.Status.DRAFT:
        messages.warning(request, "This prescription is signed and cannot be changed. Revise it to make a new version.")
        return redirect("clinical-prescription-detail", prescription_id=prescription.pk)
    if request.method == "POST":
        form = PrescriptionForm(request.POST, user=user)
        items = PrescriptionItemFormSet(request.POST, prefix="items")
        if form.is_valid() and items.is_valid():
            try:
                clinical.prescription_update(
                    prescription=prescription,
                    actor=user,
                    items=rows_of(items),
                    context=audit_context(request),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                apply_service_errors(exc, form, {"items": items})
            else:
                messages.success(request, "Prescription saved.")
                return redirect("clinical-prescription-detail", prescription_id=prescription.pk)
        return _prescription_form_page(
            request,
            patient=prescription.patient,
            form=form,
            items=items,
            prescription=prescription,
            visit=prescription.visit,
            status=400,
        )
    form = PrescriptionForm(
        user=user,
        initial={
            "location": prescription.location,
            "general_advice": prescription.general_advice,
            "general_advice_hi": prescription.general_advice_hi,
            "follow_up_date": prescription.follow_up_date,
            "print_hindi": prescription.print_hindi,
        },
    )
    rows = [
        {
            **{name: getattr(item, name) for name in clinical.ITEM_FIELDS},
            "free_text": item.free_text,
            "drug": item.drug_id,
        }
        for item in prescription.items.all()
    ]
    items = PrescriptionItemFormSet(prefix="items", initial=rows or [{}])
    return _prescription_form_page(
        request,
        patient=prescription.patient,
        form=form,
        items=items,
        prescription=prescription,
        visit=prescription.visit,
    )


@require_POST
@capability_required("prescriptions.sign")
def prescription_sign(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    prescription = selectors.prescription_access(user=staff_user(request), prescription_id=prescription_id)
    # One reason box per safety finding, named override_<finding code>.
    reasons = {
        key.removeprefix("override_"): str(request.POST.get(key, ""))
        for key in request.POST
        if key.startswith("override_")
    }
    try:
        clinical.prescription_sign(
            prescription=prescription, actor=staff_user(request), overrides=reasons, context=audit_context(request)
        )
    except ValidationError as exc:
        if prescription.status != Prescription.Status.DRAFT:
            messages.error(request, _errors_message(exc))
            return redirect("clinical-prescription-detail", prescription_id=prescription.pk)
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _prescription_detail_page(request, prescription, sign_errors=errors, reasons=reasons, status=400)
    messages.success(request, "Prescription signed. The PDF is ready to print or share.")
    return redirect("clinical-prescription-detail", prescription_id=prescription.pk)


@require_POST
@capability_required("prescriptions.write")
def prescription_revise(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    prescription = selectors.prescription_access(user=staff_user(request), prescription_id=prescription_id)
    try:
        revision = clinical.prescription_revise(
            prescription=prescription, actor=staff_user(request), context=audit_context(request)
        )
    except ValidationError as exc:
        messages.error(request, _errors_message(exc))
        return redirect("clinical-prescription-detail", prescription_id=prescription.pk)
    messages.success(
        request, f"Version {revision.version} is a draft. Version {prescription.version} stays valid until you sign it."
    )
    return redirect("clinical-prescription-edit", prescription_id=revision.pk)


def pdf_response(data: bytes, *, filename: str, download: bool) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@capability_required("prescriptions.view")
def prescription_pdf(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    prescription = selectors.prescription_access(user=staff_user(request), prescription_id=prescription_id)
    if prescription.document is None:
        raise Http404("This prescription is not signed yet")
    try:
        data = clinical.prescription_pdf_read(
            prescription=prescription, actor=staff_user(request), context=audit_context(request)
        )
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=f"/prescriptions/{prescription.pk}/")
    return pdf_response(
        data,
        filename=f"prescription-{prescription.document.verification_code}.pdf",
        download=request.GET.get("download") == "1",
    )


@require_GET
@capability_required("prescriptions.write")
def formulary_search(request: HttpRequest) -> JsonResponse:
    """The prescription line's medicine autocomplete: the clinic's formulary, then the reference one."""
    options = favourites.medicine_search(
        request.GET.get("q", ""),
        user=staff_user(request),
        child_weight_kg=_weight_param(request.GET.get("child_weight_kg", "")),
    )
    return JsonResponse({"results": [medicine_option_data(option) for option in options]})


def _weight_param(raw: str) -> Decimal | None:
    """A child's weight in kg from the query string, or None if absent or not a plausible weight."""
    try:
        weight = Decimal(raw.strip()[:8])
    except (InvalidOperation, ValueError):
        return None
    return weight if weight.is_finite() and dosing.MIN_WEIGHT_KG <= weight <= dosing.MAX_WEIGHT_KG else None


def medicine_option_data(option: selectors.MedicineOption) -> dict[str, Any]:
    return {
        "id": option.id,
        "key": option.key,
        "source": option.source,
        "kind": option.kind,
        "label": option.label,
        "name": option.name,
        "strength": option.strength,
        "form": option.form,
        "generic": option.generic,
        "maker": option.maker,
        "dose": option.dose,
        "frequency": option.frequency,
        "route": option.route,
        "duration": option.duration,
        "verified": option.verified,
        "nlem": option.nlem,
        "dose_note": option.dose_note,
        "favourite": option.favourite,
    }


# --- ICD-10 --------------------------------------------------------------------------------------


@require_GET
@capability_required("clinical.view")
def icd10_lookup(request: HttpRequest) -> HttpResponse:
    """A page to look a code up (linked from the diagnosis form; works without JavaScript)."""
    query = request.GET.get("q", "").strip()[:80]
    results = icd10.search(query, limit=ICD10_PAGE_RESULTS) if query else []
    return render(
        request,
        "clinical/icd10_lookup.html",
        {"query": query, "results": results, "edition": icd10.EDITION, "limit": ICD10_PAGE_RESULTS},
    )


@require_GET
@capability_required("clinical.view")
def icd10_search(request: HttpRequest) -> JsonResponse:
    """The diagnosis form's code autocomplete."""
    results = icd10.search(request.GET.get("q", ""), limit=icd10.SEARCH_LIMIT)
    return JsonResponse({"results": [{"code": entry.code, "description": entry.description} for entry in results]})
