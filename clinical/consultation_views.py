"""The consultation screen (/consult/<patient_id>): one form with the chart summary on top, the
visit (complaint, vitals, notes, diagnoses with ICD-10), the prescription lines and the follow-up,
and the buttons Save draft, Sign, and Sign and next patient.

"Sign and next patient" belongs to the queue (appointments, an app above this one): appointments
registers the URL the button posts to (`register_next_patient`) and calls `consultation_submit`
there, so this module never imports it. Without JavaScript everything works; the bundled scripts
only add rows and the medicine and ICD-10 suggestions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.guards import staff_user
from accounts.models import Location, User
from accounts.selectors import locations_for
from audit.context import audit_context
from clinical import favourites, rx_templates, selectors
from clinical import services as clinical
from clinical.consultation import (
    chart_summary,
    consultation_prescription,
    consultation_save,
    consultation_sign,
    consultation_visit,
)
from clinical.forms import DiagnosisFormSet, PrescriptionItemForm, VisitForm, apply_service_errors, rows_of
from clinical.models import Prescription, Visit
from clinical.views import safety_rows
from docos.ids import parse_uuid
from docos.permissions import capability_required
from patients.access import patient_access
from patients.models import Patient

# Lines are optional here (a visit without medicines is signed alone), so no "add one" rule.
ConsultationItemFormSet = formset_factory(PrescriptionItemForm, extra=0, max_num=30, validate_max=True)

NextPatientUrl = Callable[[User, Patient], str | None]
_next_patient: list[NextPatientUrl] = []


def register_next_patient(hook: NextPatientUrl) -> None:
    """The queue registers where "Sign and next patient" posts (None: no button for this user)."""
    _next_patient.append(hook)


def _next_patient_url(user: User, patient: Patient) -> str | None:
    for hook in _next_patient:
        url = hook(user, patient)
        if url:
            return url
    return None


class ConsultationForm(VisitForm):
    """The visit form without time and clinician (it is now, and it is you), plus the print option."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        del self.fields["visit_at"]
        del self.fields["clinician"]
        self.fields["print_hindi"] = forms.BooleanField(label="Print Hindi instructions too", required=False)


def _location_param(user: User, raw: str) -> Location | None:
    location_id = parse_uuid(raw) if raw else None
    return locations_for(user).filter(pk=location_id).first() if location_id else None


def _posted_visit(request: HttpRequest, user: User, patient: Patient) -> Visit | None:
    """The draft this form was saved as (hidden `visit`), checked through the visit access function."""
    raw = request.POST.get("visit", "").strip()
    if not raw:
        return None
    visit = selectors.visit_access(user=user, visit_id=raw)
    if visit.patient_id != patient.pk:
        raise Http404("No such visit")
    return visit


def _reasons(request: HttpRequest) -> dict[str, str]:
    """One reason box per safety finding, named override_<finding code> (as on the prescription page)."""
    return {
        key.removeprefix("override_"): str(request.POST.get(key, ""))
        for key in request.POST
        if key.startswith("override_")
    }


def _page(
    request: HttpRequest,
    *,
    patient: Patient,
    visit: Visit | None,
    form: ConsultationForm,
    diagnoses: Any,
    items: Any,
    sign_errors: dict[str, list[str]] | None = None,
    reasons: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = staff_user(request)
    prescription = consultation_prescription(visit)
    errors = sign_errors or {}
    findings = safety_rows(prescription, sign_errors=errors, reasons=reasons)
    incomplete = clinical.prescription_incomplete_lines(prescription) if prescription is not None else {}
    shown = {str(row["field"]).replace("override_", "overrides.", 1) for row in findings} | set(incomplete)
    child = selectors.child_weight(user=user, patient=patient, visit=visit)
    return render(
        request,
        "clinical/consultation.html",
        {
            "patient": patient,
            "visit": visit,
            "prescription": prescription,
            "summary": chart_summary(user=user, patient=patient, current=visit),
            "recorded_allergies": [],  # the summary shows them, with severity
            "form": form,
            "diagnoses": diagnoses,
            "items": items,
            "findings": findings,
            "incomplete": [{"line": int(key.split(".")[1]) + 1, "messages": text} for key, text in incomplete.items()],
            "sign_errors": [text for key, texts in errors.items() if key not in shown for text in texts],
            "next_url": _next_patient_url(user, patient),
            "child_weight": child[0] if child else None,
            "can_prescribe": items is not None,
            "favourites": favourites.favourite_options(user, child_weight_kg=child[0] if child else None)
            if items is not None
            else [],
        },
        status=status,
    )


def _blank_page(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The screen as opened: today's draft resumed (at ?location=, when given), or a new one."""
    user = staff_user(request)
    location = _location_param(user, request.GET.get("location", ""))
    visit = consultation_visit(user=user, patient=patient, location=location)
    if visit is not None:
        initial = VisitForm.initial_for(visit)
        rows: list[dict[str, Any]] = []
        prescription = consultation_prescription(visit)
        if prescription is not None:
            initial["print_hindi"] = prescription.print_hindi
            rows = [
                {
                    **{name: getattr(item, name) for name in clinical.ITEM_FIELDS},
                    "free_text": item.free_text,
                    "drug": item.drug_id,
                }
                for item in prescription.items.all()
            ]
        diagnoses = DiagnosisFormSet(prefix="diagnoses", initial=visit.diagnoses or [])
    else:
        initial = {"location": location} if location is not None else {}
        rows = []
        diagnoses = DiagnosisFormSet(prefix="diagnoses")
    form = ConsultationForm(user=user, initial=initial)
    if "location" not in initial and form.fields["location"].queryset.count() == 1:  # type: ignore[attr-defined]
        form.initial["location"] = form.fields["location"].queryset.first()  # type: ignore[attr-defined]
    repeat = request.GET.get("repeat", "").strip()
    if repeat:  # "Repeat": the last prescription's lines, to check, then save with the visit
        earlier = selectors.prescription_access(user=user, prescription_id=repeat)
        if earlier.patient_id != patient.pk:
            raise Http404("No such prescription")
        rows = rx_templates.repeat_rows(earlier)
        messages.info(
            request, f"Lines copied from the prescription of {earlier.created_at:%d %b %Y}: check them, then save."
        )
    items = (
        ConsultationItemFormSet(prefix="items", initial=rows or [{}])
        if user.has_capability("prescriptions.write")
        else None
    )
    return _page(request, patient=patient, visit=visit, form=form, diagnoses=diagnoses, items=items)


def consultation_submit(
    request: HttpRequest, patient: Patient, *, sign: bool, then: Callable[[Visit], Any] | None = None
) -> Visit | HttpResponse:
    """Save the posted screen as drafts and, with `sign`, sign the visit and its prescription (then
    run `then` in the signing transaction). Returns the visit, or the page again with what to fix:
    field and per-line errors, safety findings each with a reason box (status 400)."""
    user = staff_user(request)
    form = ConsultationForm(request.POST, user=user)
    diagnoses = DiagnosisFormSet(request.POST, prefix="diagnoses")
    items = (
        ConsultationItemFormSet(request.POST, prefix="items") if user.has_capability("prescriptions.write") else None
    )
    visit = _posted_visit(request, user, patient)
    reasons = _reasons(request)

    def again(visit: Visit | None, sign_errors: dict[str, list[str]] | None = None) -> HttpResponse:
        return _page(
            request,
            patient=patient,
            visit=visit,
            form=form,
            diagnoses=diagnoses,
            items=items,
            sign_errors=sign_errors,
            reasons=reasons,
            status=400,
        )

    if not (form.is_valid() and diagnoses.is_valid() and (items is None or items.is_valid())):
        return again(visit)
    kwargs = form.service_kwargs()
    if visit is None:  # a second tab or a repeated post resumes today's draft rather than opening another
        visit = consultation_visit(user=user, patient=patient, location=kwargs["location"])
    context = audit_context(request)
    try:
        visit, _ = consultation_save(
            patient=patient,
            actor=user,
            visit=visit,
            visit_fields={name: value for name, value in kwargs.items() if name != "notes"},
            notes=kwargs["notes"],
            diagnoses=rows_of(diagnoses),
            items=rows_of(items) if items is not None else None,
            print_hindi=bool(form.cleaned_data.get("print_hindi")),
            context=context,
        )
    except ValidationError as exc:
        apply_service_errors(exc, form, {"diagnoses": diagnoses, **({"items": items} if items is not None else {})})
        return again(visit)
    if not sign:
        return visit
    try:
        consultation_sign(visit=visit, actor=user, overrides=reasons, context=context, then=then)
    except ValidationError as exc:
        visit.refresh_from_db()
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return again(visit, errors)
    return visit


@require_http_methods(["GET", "POST"])
@capability_required("clinical.edit")
def consultation(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    if request.method == "GET":
        return _blank_page(request, patient)
    sign = request.POST.get("action") == "sign"
    result = consultation_submit(request, patient, sign=sign)
    if isinstance(result, HttpResponse):
        return result
    if not sign:
        messages.success(request, "Saved as a draft.")
        return redirect(f"/consult/{patient.pk}?location={result.location_id}")
    prescription = result.prescriptions.filter(status=Prescription.Status.SIGNED, signed_at__isnull=False).first()
    messages.success(request, "Visit and prescription signed." if prescription else "Visit signed.")
    return redirect("clinical-visit-detail", visit_id=result.pk)
