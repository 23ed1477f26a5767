"""Billing set-up pages (`billing.manage`): one price-list item with its per-location prices, and
each location's numbering prefixes. Thin: parse, check, call one service, render."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.guards import staff_user
from accounts.selectors import locations_for, own_location_access
from audit.context import audit_context
from billing import numbering, services
from billing.access import price_item_access
from billing.forms import PriceItemForm
from billing.models import LocationPrice, PriceItem
from docos.permissions import capability_required

MANAGE = "billing.manage"


def _sentences(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _item_page(request: HttpRequest, item: PriceItem, form: PriceItemForm, status: int = 200) -> HttpResponse:
    user = staff_user(request)
    own = dict(LocationPrice.objects.filter(item=item).values_list("location_id", "price"))
    rows = [{"location": location, "price": own.get(location.pk)} for location in locations_for(user)]
    return render(request, "billing/price_item.html", {"item": item, "form": form, "rows": rows}, status=status)


@require_http_methods(["GET", "POST"])
@capability_required(MANAGE)
def price_item_edit(request: HttpRequest, item_id: UUID) -> HttpResponse:
    user = staff_user(request)
    item = price_item_access(user, item_id)
    if request.method != "POST":
        return _item_page(request, item, PriceItemForm(instance=item))
    form = PriceItemForm(request.POST, instance=PriceItem.objects.get(pk=item.pk))
    if not form.is_valid():
        return _item_page(request, item, form, status=400)
    try:
        services.price_item_update(actor=user, item=item, context=audit_context(request), **form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return _item_page(request, item, form, status=400)
    messages.success(request, f"{item.name} saved. Issued invoices keep the prices they were issued with.")
    return redirect("billing-price-item", item_id=item.pk)


@require_POST
@capability_required(MANAGE)
def location_price_save(request: HttpRequest, item_id: UUID, location_id: UUID) -> HttpResponse:
    user = staff_user(request)
    item = price_item_access(user, item_id)
    location = own_location_access(user, location_id)
    raw = request.POST.get("price", "").strip()
    try:
        price = None if raw == "" else Decimal(raw)
    except InvalidOperation:
        messages.error(request, f"“{raw[:20]}” is not an amount in rupees, e.g. 450 or 450.50.")
        return redirect("billing-price-item", item_id=item.pk)
    try:
        services.location_price_set(
            actor=user, item=item, location=location, price=price, context=audit_context(request)
        )
    except ValidationError as exc:
        messages.error(request, _sentences(exc))
    else:
        messages.success(
            request,
            f"{location.name} now charges the default price."
            if price is None
            else f"{location.name} now charges ₹{services.price_at(item, location)}.",
        )
    return redirect("billing-price-item", item_id=item.pk)


SERIES_LABELS = {"invoice_prefix": "Invoices", "credit_note_prefix": "Credit notes", "receipt_prefix": "Receipts"}


def _numbering_rows(user: Any, *, failed: Any = None, posted: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for location in locations_for(user):
        day = services.local_today(location)
        profile = numbering.profile_for(location)
        used = numbering.numbered_this_year(location, day)
        series = []
        for kind, field in numbering.SERIES_FIELDS.items():
            prefix = getattr(profile, field)
            value = posted[field] if posted is not None and failed == location.pk else prefix
            series.append((SERIES_LABELS[field], field, prefix, used.get(kind, 0), value))
        rows.append(
            {
                "location": location,
                "series": series,
                "year": numbering.year_label(numbering.financial_year(day)),
            }
        )
    return rows


@require_GET
@capability_required(MANAGE)
def numbering_list(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/numbering.html", {"rows": _numbering_rows(staff_user(request))})


@require_POST
@capability_required(MANAGE)
def numbering_save(request: HttpRequest, location_id: UUID) -> HttpResponse:
    user = staff_user(request)
    location = own_location_access(user, location_id)
    prefixes = {field: request.POST.get(field, "") for field in numbering.SERIES_FIELDS.values()}
    try:
        numbering.billing_profile_set(
            actor=user,
            location=location,
            prefixes=prefixes,
            day=services.local_today(location),
            context=audit_context(request),
        )
    except ValidationError as exc:
        return render(
            request,
            "billing/numbering.html",
            {"rows": _numbering_rows(user, failed=location.pk, posted=prefixes), "failed": location.pk, "errors": exc},
            status=400,
        )
    messages.success(request, f"Numbering prefixes of {location.name} saved.")
    return redirect("billing-numbering")
