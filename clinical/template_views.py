"""Pages of a doctor's prescription templates and favourite medicines: save a prescription as a
template, list and delete one's own; star and unstar medicines. Using a template is the
new-prescription form's `?template=` (clinical.views)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.guards import staff_user
from audit.context import audit_context
from clinical import favourites, rx_templates, selectors
from docos.permissions import capability_required


@require_POST
@capability_required("prescriptions.write")
def template_save(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    user = staff_user(request)
    prescription = selectors.prescription_access(user=user, prescription_id=prescription_id)
    try:
        template = rx_templates.template_save_from_prescription(
            actor=user,
            prescription=prescription,
            name=request.POST.get("name", ""),
            dose_by_weight=request.POST.get("dose_by_weight") == "on",
            context=audit_context(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Saved as your template “{template.name}”. It is offered on new prescriptions.")
    return redirect("clinical-prescription-detail", prescription_id=prescription.pk)


@require_GET
@capability_required("prescriptions.write")
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(rx_templates.templates_of(staff_user(request)))
    return render(request, "clinical/template_list.html", {"templates": templates})


@require_POST
@capability_required("prescriptions.write")
def template_delete(request: HttpRequest, template_id: UUID) -> HttpResponse:
    user = staff_user(request)
    template = rx_templates.template_access(user=user, template_id=template_id)
    rx_templates.template_delete(actor=user, template=template, context=audit_context(request))
    messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("clinical-template-list")


# --- favourite medicines ---------------------------------------------------------------------------


@require_GET
@capability_required("prescriptions.write")
def favourite_list(request: HttpRequest) -> HttpResponse:
    """The doctor's favourite medicines, and a search (without JavaScript) to star more."""
    user = staff_user(request)
    query = " ".join(request.GET.get("q", "").split())[:60]
    results = favourites.medicine_search(query, user=user) if len(query) >= 2 else []
    return render(
        request,
        "clinical/favourite_list.html",
        {"favourites": list(favourites.favourites_of(user)), "query": query, "results": results},
    )


@require_POST
@capability_required("prescriptions.write")
def favourite_add(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    try:
        favourite = favourites.favourite_add(
            actor=user, key=request.POST.get("key", ""), context=audit_context(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s is one of your favourites.") % {"name": favourite})
    return redirect(_back(request))


@require_POST
@capability_required("prescriptions.write")
def favourite_delete(request: HttpRequest, favourite_id: UUID) -> HttpResponse:
    user = staff_user(request)
    favourite = favourites.favourite_access(user=user, favourite_id=favourite_id)
    favourites.favourite_remove(actor=user, favourite=favourite, context=audit_context(request))
    messages.success(request, _("%(name)s is no longer one of your favourites.") % {"name": favourite})
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    """Back to the page the form was on (this site only), else the favourites page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("clinical-favourite-list")
