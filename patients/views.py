"""Registry pages: list and search, registration (with the duplicate warning), chart, edit,
WhatsApp consent, merge, and CSV import. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from accounts.models import User
from accounts.selectors import locations_for
from audit.context import audit_context
from docos.http import file_unavailable_response, local_next
from docos.permissions import capability_required
from docos.storage import FileUnavailable
from patients import consents, importer, search, selectors, services
from patients.access import (
    LOOKUPS_ELSEWHERE_PER_HOUR,
    LookupsExhausted,
    live_grant,
    patient_access,
    patient_lookup_elsewhere,
    visible_patients,
)
from patients.forms import (
    ConsentForm,
    ConsentLogForm,
    ImportMappingForm,
    ImportUploadForm,
    MergeForm,
    OpenAtBranchForm,
    PatientForm,
    PatientRegisterForm,
    add_service_errors,
)
from patients.models import Patient, PatientImport

PER_PAGE = 50


@dataclass
class ResultPage:
    """A page that knows whether another follows without counting every match (fast on big clinics)."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


def result_page(queryset: QuerySet[Any] | list[Any], number: int, per_page: int = PER_PAGE) -> ResultPage:
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return ResultPage(items=rows[:per_page], number=number, has_next=len(rows) > per_page)


# --- list and search ----------------------------------------------------------------------------


@require_GET
@capability_required("patients.view")
def patient_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    query = request.GET.get("q", "").strip()[:100]
    found = selectors.patient_search(user=user, query=query)
    page = result_page(found.queryset, _page_number(request))
    rows = selectors.as_rows(page.items)
    # Similar names (typo corrections) rank after every exact match: shown under their own heading.
    page.items = [row for row in rows if row.id not in found.similar_ids]
    suggestions = [row for row in rows if row.id in found.similar_ids]
    context = {
        "query": query,
        "search": found,
        "page": page,
        "suggestions": suggestions,
        "query_string": urlencode({"q": query}) if query else "",
    }
    context["elsewhere"] = _elsewhere(user, found)
    if request.GET.get("fragment") == "1":
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


def _elsewhere(user: User, found: selectors.PatientSearch) -> list[Patient]:
    """For an exact MRN or full phone number, the matching patients of branches the user does not
    work at, offered to "open at this branch" so nobody registers a walk-in twice."""
    if not found.query or found.kind in ("abha", "all"):
        return []
    phone = "" if any(ch.isalpha() for ch in found.query) else search.parse_full_number(found.query) or ""
    mrn = selectors.normalized_mrn(found.query)
    try:
        return patient_lookup_elsewhere(user=user, mrn=mrn, phone_e164=phone)
    except LookupsExhausted:
        return []


def _lookups_exhausted(request: HttpRequest) -> HttpResponse:
    response = render(request, "patients/lookups_exhausted.html", {"per_hour": LOOKUPS_ELSEWHERE_PER_HOUR}, status=429)
    response["Retry-After"] = "3600"
    return response


@require_http_methods(["GET", "POST"])
@capability_required("patients.cross_branch")
def patient_open_at_branch(request: HttpRequest) -> HttpResponse:
    """Break-the-glass: open a patient of another branch, found by exact MRN, with a reason."""
    user = staff_user(request)
    mrn = selectors.normalized_mrn((request.POST.get("mrn") or request.GET.get("mrn") or "")[:40])
    try:
        matches = patient_lookup_elsewhere(user=user, mrn=mrn)
    except LookupsExhausted:
        return _lookups_exhausted(request)
    patient = matches[0] if len(matches) == 1 else None
    form = OpenAtBranchForm(request.POST or None)
    if request.method == "POST" and patient is not None and form.is_valid():
        try:
            services.patient_open_at_branch(
                patient=patient, actor=user, reason=form.cleaned_data["reason"], context=audit_context(request)
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"You can open {patient.full_name}'s record for the next {services.ACCESS_GRANT_HOURS} hours. "
                "This was recorded in the audit log.",
            )
            return redirect("patients-detail", patient_id=patient.pk)
    status = 200 if patient is not None or not mrn else 404
    return render(
        request,
        "patients/open_at_branch.html",
        {"form": form, "patient": patient, "mrn": mrn, "hours": services.ACCESS_GRANT_HOURS},
        status=status,
    )


# --- registration and edit ----------------------------------------------------------------------


def _location_names(candidates: list[services.DuplicateCandidate], user: User) -> list[dict[str, Any]]:
    visible = set(visible_patients(user).filter(pk__in=[c.patient.pk for c in candidates]).values_list("pk", flat=True))
    # Another branch's patient is named only when the phone matched exactly (the person at the desk
    # gave it); a similar name and birth date alone must not turn registration into a directory.
    return [
        {
            "patient": c.patient,
            "reasons": c.reasons,
            "visible": c.patient.pk in visible,
            "identified": c.patient.pk in visible or "same phone number" in c.reasons,
        }
        for c in candidates
    ]


@require_http_methods(["GET", "POST"])
@capability_required("patients.edit")
def patient_register(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    locations = locations_for(user).order_by("name")
    duplicates: list[dict[str, Any]] = []
    # Registering from a booking or walk-in (`next`) goes back there with the new patient chosen.
    back = local_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        form = PatientRegisterForm(request.POST, locations=locations, actor=user)
        if form.is_valid():
            try:
                patient = services.patient_create(
                    actor=user,
                    context=audit_context(request),
                    duplicates_confirmed=form.cleaned_data["confirm_new_patient"],
                    whatsapp_consent=form.cleaned_data["whatsapp_consent"],
                    **form.service_fields(),
                )
            except services.PossibleDuplicates as exc:
                duplicates = _location_names(exc.candidates, user)
                form.add_error(None, exc.messages[0])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Registered {patient.full_name} with MRN {patient.mrn}.")
                if back:
                    return redirect(f"{back}{'&' if '?' in back else '?'}{urlencode({'patient': patient.pk})}")
                return redirect("patients-detail", patient_id=patient.pk)
    else:
        initial: dict[str, Any] = {}
        typed = request.GET.get("q", "").strip()
        if typed and any(ch.isalpha() for ch in typed):
            given, _, family = typed.partition(" ")
            initial.update(given_name=given.title(), family_name=family.title())
        elif typed:
            initial["phone"] = typed
        first = locations.first()
        if first is not None:
            initial["registered_location"] = first.pk
        form = PatientRegisterForm(locations=locations, initial=initial)
    return render(
        request, "patients/form.html", {"form": form, "duplicates": duplicates, "patient": None, "next": back}
    )


@require_http_methods(["GET", "POST"])
@capability_required("patients.edit")
def patient_edit(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    if patient.merged_into_id:
        messages.warning(request, "This record was merged; edit the surviving record instead.")
        return redirect("patients-detail", patient_id=patient.merged_into_id)
    locations = locations_for(user).order_by("name")
    if request.method == "POST":
        form = PatientForm(request.POST, locations=locations, patient=patient, actor=user)
        if form.is_valid():
            try:
                changed = services.patient_update(
                    patient=patient, actor=user, context=audit_context(request), **form.service_fields()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Saved." if changed else "Nothing changed.")
                return redirect("patients-detail", patient_id=patient.pk)
    else:
        form = PatientForm(locations=locations, patient=patient)
    return render(request, "patients/form.html", {"form": form, "patient": patient, "duplicates": []})


# --- chart --------------------------------------------------------------------------------------


@require_GET
@capability_required("patients.view")
def patient_detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    timeline = selectors.patient_timeline(user=user, patient=patient)
    page = Paginator(timeline, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "patient": patient,
        "page": page,
        "timeline_is_limited": not user.has_capability("clinical.view"),
        "consent_form": ConsentForm(),
        "consent_states": consents.consent_states(patient),
        "merge_form": MergeForm(),
        "new_visit_url": selectors.url_for(
            ["clinical-visit-new"], f"/patients/{patient.pk}/visits/new", patient_id=patient.pk
        ),
        "new_prescription_url": selectors.url_for(
            ["clinical-prescription-new"], f"/patients/{patient.pk}/prescriptions/new", patient_id=patient.pk
        ),
        "counts": selectors.patient_clinical_counts(user=user, patient=patient),
        "chart_sections": selectors.patient_chart_sections(user=user, patient=patient),
        "grant": live_grant(user=user, patient=patient),
        "reads": selectors.patient_record_reads(patient=patient) if user.has_capability("audit.view") else None,
    }
    return render(request, "patients/detail.html", context)


@require_POST
@capability_required("patients.edit")
def patient_consent(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what the patient decided and how they told you.")
    elif patient.merged_into_id:
        messages.error(request, "This record was merged; record consent on the surviving record.")
    elif form.cleaned_data["decision"] == "consent":
        services.patient_record_whatsapp_consent(
            patient=patient, actor=user, source=form.cleaned_data["source"], context=audit_context(request)
        )
        messages.success(request, "Consent to WhatsApp messages recorded.")
    else:
        services.patient_record_whatsapp_opt_out(
            patient=patient, actor=user, source=form.cleaned_data["source"], context=audit_context(request)
        )
        messages.success(request, "Opt-out recorded: no more WhatsApp messages to this patient.")
    return redirect("patients-detail", patient_id=patient.pk)


def _consents_page(request: HttpRequest, patient: Patient, form: ConsentLogForm, status: int = 200) -> HttpResponse:
    context = {
        "patient": patient,
        "states": consents.consent_states(patient),
        "history": consents.consent_history(patient),
        "form": form,
        "notice_version": services.notice_version(),
    }
    return render(request, "patients/consents.html", context, status=status)


@require_GET
@capability_required("patients.view")
def patient_consents(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The consent log: the current decision per purpose and every decision, newest first."""
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    return _consents_page(request, patient, ConsentLogForm(patient=patient))


@require_POST
@capability_required("patients.edit")
def patient_consent_record(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient = patient_access(user=user, patient_id=patient_id)
    form = ConsentLogForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            row = consents.consent_record(
                patient=patient, actor=user, context=audit_context(request), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Recorded: {row.get_purpose_display()} {row.get_action_display().lower()}.")
            return redirect("patients-consent-log", patient_id=patient.pk)
    return _consents_page(request, patient, form, status=400)


def _find_other(user: User, text: str) -> Patient:
    """The record to merge in, by id or MRN, through patient_access (so the read is logged)."""
    text = text.strip()
    try:
        return patient_access(user=user, patient_id=uuid.UUID(text), what="merge")
    except ValueError:
        pass
    other = visible_patients(user).filter(mrn__iexact=text).values_list("pk", flat=True).first()
    return patient_access(user=user, patient_id=other, what="merge")


@require_http_methods(["GET", "POST"])
@capability_required("patients.merge")
def patient_merge(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """GET ?other=<MRN or id>: both records side by side; POST: merge the other into this one."""
    user = staff_user(request)
    survivor = patient_access(user=user, patient_id=patient_id)
    source = request.POST if request.method == "POST" else request.GET
    form = MergeForm(source)
    if not form.is_valid():
        messages.error(request, "Enter the MRN of the duplicate record.")
        return redirect("patients-detail", patient_id=survivor.pk)
    try:
        duplicate = _find_other(user, form.cleaned_data["other"])
    except Http404:
        messages.error(request, "No patient you can see has that MRN.")
        return redirect("patients-detail", patient_id=survivor.pk)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            result = services.patient_merge(
                survivor=survivor, duplicate=duplicate, actor=user, context=audit_context(request)
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            moved = sum(result.moved.values())
            messages.success(request, f"Merged {duplicate.mrn} into {survivor.mrn}; {moved} linked records moved.")
            return redirect("patients-detail", patient_id=survivor.pk)
    rows = [
        (label, getattr(survivor, name), getattr(duplicate, name))
        for name, label in (
            ("mrn", "MRN"),
            ("full_name", "Name"),
            ("date_of_birth", "Date of birth"),
            ("sex", "Sex"),
            ("phone", "Phone"),
            ("whatsapp_number", "WhatsApp"),
            ("email", "Email"),
            ("abha_number", "ABHA"),
            ("address", "Address"),
            ("allergies", "Allergies"),
            ("chronic_conditions", "Chronic conditions"),
        )
    ]
    return render(
        request,
        "patients/merge.html",
        {"survivor": survivor, "duplicate": duplicate, "rows": rows, "other": form.cleaned_data["other"]},
    )


# --- import -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@capability_required("patients.import")
def import_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    locations = locations_for(user).order_by("name")
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, locations=locations)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                patient_import = importer.patient_import_upload(
                    actor=user,
                    data=upload.read(),
                    original_name=upload.name or "",
                    location=form.cleaned_data["location"],
                    context=audit_context(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("patients-import-detail", import_id=patient_import.pk)
    else:
        form = ImportUploadForm(locations=locations)
    imports = selectors.patient_import_list(user=user).defer("review", "held", "decisions")
    page = result_page(imports, _page_number(request))
    return render(request, "patients/import_list.html", {"form": form, "page": page})


def _mapping_choices() -> list[tuple[str, str]]:
    return [("", "— ignore this column —"), *importer.TARGETS.items()]


@require_http_methods(["GET", "POST"])
@capability_required("patients.import")
def import_detail(request: HttpRequest, import_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient_import = selectors.patient_import_get(user=user, import_id=import_id)
    editable = patient_import.status in (PatientImport.Status.UPLOADED, PatientImport.Status.MAPPED)
    context: dict[str, Any] = {"import": patient_import, "editable": editable}
    if editable:
        try:
            parsed = importer.import_rows(patient_import, actor=user, context=audit_context(request))
        except FileUnavailable as exc:
            return file_unavailable_response(request, exc, back="/patients/import/")
        initial = {f"col_{i}": patient_import.mapping.get(h, "") for i, h in enumerate(parsed.headers)}
        form = ImportMappingForm(
            request.POST if request.method == "POST" else None,
            headers=parsed.headers,
            choices=_mapping_choices(),
            initial=initial,
        )
        if request.method == "POST" and form.is_valid():
            try:
                importer.patient_import_set_mapping(
                    patient_import=patient_import, mapping=form.mapping(), actor=user, context=audit_context(request)
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, "Mapping saved. Check the preview, then start the import.")
                return redirect("patients-import-detail", import_id=patient_import.pk)
        context["form"] = form
        if patient_import.status == PatientImport.Status.MAPPED:
            _, outcomes = importer.patient_import_preview(patient_import=patient_import, actor=user)
            named = [o.existing.pk for o in outcomes if o.existing is not None]
            named += [c.patient.pk for o in outcomes for c in o.candidates]
            context["visible_existing"] = set(visible_patients(user).filter(pk__in=named).values_list("pk", flat=True))
            context["preview"] = outcomes
            context["preview_columns"] = [t for t in importer.TARGETS if t in patient_import.mapping.values()]
            context["warnings"] = importer.mapping_warnings(patient_import.mapping)
            context["review_scan"] = patient_import.review or {}
        context["mapping_rows"] = [
            (form[f"col_{i}"], [v for v in (parsed.cell(r, i) for r in range(min(3, len(parsed.rows)))) if v.strip()])
            for i in range(len(parsed.headers))
        ]
        context["earlier"] = importer.earlier_imports(patient_import, user=user)
    if patient_import.status in (PatientImport.Status.MAPPED, PatientImport.Status.DONE):
        try:
            context["review"] = importer.review_rows(patient_import, user=user)
            context["review_total"] = importer.pending_review_count(patient_import)
            context["review_more"] = context["review_total"] - len(context["review"])
        except FileUnavailable as exc:
            return file_unavailable_response(request, exc, back="/patients/import/")
    if patient_import.status == PatientImport.Status.DONE:
        context["follow_up"] = importer.follow_up_patients(patient_import, user=user)
    context["status"] = importer.import_status(patient_import)
    return render(request, "patients/import_detail.html", context)


@require_POST
@capability_required("patients.import")
def import_start(request: HttpRequest, import_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient_import = selectors.patient_import_get(user=user, import_id=import_id)
    try:
        importer.patient_import_start(patient_import=patient_import, actor=user, context=audit_context(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("patients-import-detail", import_id=patient_import.pk)


@require_POST
@capability_required("patients.import")
def import_decide(request: HttpRequest, import_id: uuid.UUID) -> HttpResponse:
    """Decisions about rows held as possible duplicates: `decision_<row>` = merge:<id> | create | skip | ""."""
    user = staff_user(request)
    patient_import = selectors.patient_import_get(user=user, import_id=import_id)
    choices: dict[int, str] = {}
    for name in request.POST:
        number = name.removeprefix("decision_")
        if name.startswith("decision_") and number.isdigit():
            choices[int(number)] = str(request.POST.get(name, "")).strip()[:60]
    try:
        importer.patient_import_decide(
            patient_import=patient_import,
            choices=choices,
            rest=str(request.POST.get("rest", "")).strip()[:10],
            actor=user,
            context=audit_context(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Decisions saved.")
    return redirect("patients-import-detail", import_id=patient_import.pk)


@require_GET
@capability_required("patients.import")
def import_status(request: HttpRequest, import_id: uuid.UUID) -> JsonResponse:
    patient_import = selectors.patient_import_get(user=staff_user(request), import_id=import_id)
    response = JsonResponse(importer.import_status(patient_import))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@capability_required("patients.import")
def import_errors(request: HttpRequest, import_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    patient_import = selectors.patient_import_get(user=user, import_id=import_id)
    if not patient_import.error_count:
        raise Http404("No errors")
    try:
        body = importer.error_report_csv(patient_import, actor=user, context=audit_context(request))
    except FileUnavailable as exc:
        return file_unavailable_response(request, exc, back=f"/patients/import/{patient_import.pk}/")
    importer.patient_import_audit_download(patient_import=patient_import, actor=user, context=audit_context(request))
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-errors-{patient_import.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response
