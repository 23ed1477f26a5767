"""Helpers for the billing tests: a price list, a patient and users of the seeded clinic."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounts.models import Location
from billing import services
from billing.models import PriceItem
from clinics.models import Clinic
from tests.clinical.clinical_helpers import make_patient, staff

GSTIN_KA = "29AAGCS1234K1Z7"


def set_gstin(seeded: Any, gstin: str = GSTIN_KA) -> None:
    Clinic.objects.filter(pk=seeded.clinic.pk).update(gstin=gstin, billing_state="Karnataka")
    seeded.clinic.gstin = gstin
    seeded.clinic.billing_state = "Karnataka"


def price_list(actor: Any) -> dict[str, PriceItem]:
    def item(name: str, kind: str, code: str, tax_class: str, price: str, **kw: Any) -> PriceItem:
        return services.price_item_create(
            actor=actor, name=name, kind=kind, sac_hsn=code, tax_class=tax_class, default_price=Decimal(price), **kw
        )

    return {
        "consult": item("Consultation", "service", "999312", "health_exempt", "500", add_to_visits=True),
        "dressing": item("Dressing", "procedure", "999312", "health_exempt", "250"),
        "botox": item("Botox (cosmetic)", "procedure", "999312", "cosmetic_18", "8000"),
        "dolo": item("Dolo 650 strip", "medicine", "30049099", "medicine_5", "33.60"),
    }


__all__ = ["Location", "make_patient", "price_list", "set_gstin", "staff"]
