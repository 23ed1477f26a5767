"""HTML actions on a patient's recorded allergies, from the chart: record one, mark one resolved.
Thin: the capability (decorator), the patient through patients.access, one service, back to the chart."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.guards import staff_user
from audit.context import audit_context
from clinical import allergies
from docos.permissions import capability_required
from patients.access import patient_access


@require_POST
@capability_required("clinical.edit")
def allergy_add(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id, what="allergies")
    try:
        allergies.allergy_record(
            patient=patient,
            actor=user,
            allergen=request.POST.get("allergen", ""),
            allergen_class=request.POST.get("allergen_class", ""),
            reaction=request.POST.get("reaction", ""),
            severity=request.POST.get("severity", "unknown"),
            context=audit_context(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Allergy recorded. It is checked whenever a prescription is signed.")
    return redirect("patients-detail", patient_id=patient.pk)


@require_POST
@capability_required("clinical.edit")
def allergy_resolve(request: HttpRequest, allergy_id: UUID) -> HttpResponse:
    user = staff_user(request)
    allergy = allergies.allergy_access(user=user, allergy_id=allergy_id)
    try:
        allergies.allergy_resolve(allergy=allergy, actor=user, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Allergy marked resolved. It stays on the record.")
    return redirect("patients-detail", patient_id=allergy.patient_id)
