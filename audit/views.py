"""The audit log in the settings console: a filtered, paginated list, a streamed CSV export, and the
retention purge log (what each nightly run removed, as counts)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tenants.utils import schema_context

from audit.models import PurgeRun
from audit.retention import retention_rules, retention_run, retention_years
from audit.selectors import (
    SYSTEM_ACTOR,
    AuditFilters,
    audit_actor_choices,
    audit_csv_rows,
    audit_event_search,
)
from audit.services import audit_record
from docos.permissions import capability_required
from docos.tenancy import current_schema
from docos.widgets import DateInput

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False)
    action = forms.CharField(
        required=False, max_length=64, help_text="An action such as user.login, or its start such as user."
    )
    date_from = forms.DateField(required=False, label="From", widget=DateInput())
    date_to = forms.DateField(required=False, label="To", widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["actor"]).choices = [
            ("", "Anyone"),
            (SYSTEM_ACTOR, "System (no signed-in user)"),
            *audit_actor_choices(),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            action=(data.get("action") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _clinic_zone(request: HttpRequest) -> ZoneInfo:
    return ZoneInfo(getattr(getattr(request, "tenant", None), "timezone", "") or "Asia/Kolkata")


@capability_required("audit.view")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    zone = _clinic_zone(request)
    filtered = not form.is_bound or form.is_valid()
    page = None
    if filtered:
        filters = form.filters() if form.is_bound else AuditFilters()
        page = Paginator(audit_event_search(filters=filters, tz=zone), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/list.html",
        {
            "tab": "audit",
            "form": form,
            "page": page,
            "zone": str(zone),
            "has_filters": form.is_bound and any(request.GET.get(name) for name in form.fields),
        },
    )


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


@capability_required("audit.view")
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in form.errors.items())
        return HttpResponse(f"Invalid filters. {errors}", status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    zone = _clinic_zone(request)
    # Recorded before the first byte goes out; the file covers the events before this one.
    export_event = audit_record(
        actor=request.user, action="audit.export", request=request, metadata={"filters": filters.as_metadata()}
    )
    events = audit_event_search(filters=filters, tz=zone).filter(seq__lt=export_event.seq)
    schema = current_schema()
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        # Streaming runs after the view returns; pin the schema rather than trust the connection's.
        with schema_context(schema):
            for row in audit_csv_rows(events, tz=zone):
                yield writer.writerow(row)

    slug = getattr(getattr(request, "tenant", None), "slug", "clinic")
    stamp = timezone.now().astimezone(zone).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    # The view decorators are typed for HttpResponse; a streaming response is handled the same way.
    return cast(HttpResponse, response)


RETENTION_PAGE_SIZE = 30


@require_GET
@capability_required("audit.view")
def retention_log(request: HttpRequest) -> HttpResponse:
    rules = retention_rules()
    page = Paginator(PurgeRun.objects.all(), RETENTION_PAGE_SIZE).get_page(request.GET.get("page"))
    runs = [
        {"run": run, "counts": [run.counts.get(rule.key) for rule in rules], "failed": ", ".join(run.failed_rules)}
        for run in page.object_list
    ]
    periods = {
        "audit_days": settings.RETENTION_AUDIT_DAYS,
        "whatsapp_days": settings.RETENTION_WHATSAPP_BODY_DAYS,
        # The clinic may lengthen these (Settings → Privacy requests → Periods); the purge uses its period.
        "clinical_years": retention_years("clinical"),
        "billing_years": retention_years("billing"),
    }
    return render(
        request,
        "audit/retention.html",
        {"tab": "audit", "rules": rules, "runs": runs, "page": page, "periods": periods},
    )


@require_POST
@capability_required("audit.view")
def retention_dry_run(request: HttpRequest) -> HttpResponse:
    """Count what the next run would remove, now (count queries only; nothing is changed)."""
    run = retention_run(dry_run=True)
    audit_record(actor=request.user, action="retention.dry_run", obj=run, request=request)
    messages.success(request, f"Dry run done: {sum(run.counts.values())} rows would be removed now.")
    return redirect("console_retention")
