"""What billing adds to a patient's chart: the invoices panel (with dues and the advance balance)."""

from __future__ import annotations

from typing import Any

from billing import services
from billing.access import invoices_visible_to, unbilled_visits
from patients.models import Patient

CHART_INVOICES_SHOWN = 10


def _invoices(patient: Patient, user: Any) -> dict[str, Any] | None:
    if not user.has_capability("billing.view"):
        return None
    visible = invoices_visible_to(user).filter(patient=patient)
    invoices = list(visible.order_by("-created_at")[:CHART_INVOICES_SHOWN])
    can_create = user.has_capability("billing.collect") and patient.is_active and patient.merged_into_id is None
    advance = services.advance_balance(patient)
    visits = unbilled_visits(user=user, patient=patient) if can_create else []
    if not invoices and not can_create and not advance:
        return None
    return {
        "template": "billing/_chart_invoices.html",
        "invoices": invoices,
        "dues": services.patient_dues(visible),  # all of them, not only the latest shown
        "advance": advance,
        "can_create": can_create,
        "unbilled_visits": visits,
    }


def register() -> None:
    from patients.selectors import register_chart_section

    register_chart_section(_invoices)
