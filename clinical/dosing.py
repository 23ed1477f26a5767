"""Child doses from weight: the reference formulary's standard paediatric dose (mg/kg per dose or per
day, with a maximum) worked out for one product and one weight.

A suggestion, shown to the doctor with its arithmetic and filled into an empty dose field; never
applied without them. Liquids get a volume (rounded to 0.5 mL, as a syringe or cup measures);
tablets and capsules only the mg per dose, since splitting them is the doctor's call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from clinical import drug_reference
from clinical.drug_reference import Product

CHILD_MAX_AGE_YEARS = 17  # paediatric dosing up to the 18th birthday
MIN_WEIGHT_KG = Decimal("0.3")
MAX_WEIGHT_KG = Decimal("150")
# Dose slots (morning-afternoon-[evening]-night) for n doses a day.
SLOTS = {1: "1-0-0", 2: "1-0-1", 3: "1-1-1", 4: "1-1-1-1"}
_PER_ML = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>mg|mcg|g)\s*/\s*(?P<volume>\d+(?:\.\d+)?)?\s*mL$", re.I)
_UNIT_MG = {"mg": Decimal(1), "mcg": Decimal("0.001"), "g": Decimal(1000)}


@dataclass(frozen=True)
class DoseSuggestion:
    inn: str
    mg_per_dose: Decimal
    doses_per_day: int
    frequency: str
    dose: str  # what goes in the line's dose field: "6 mL" or "300 mg"
    capped: bool  # the weight-based dose was above the maximum, which was used instead
    explanation: str
    verified: bool


def _mg_per_ml(strength: str) -> Decimal | None:
    match = _PER_ML.match(strength.strip())
    if not match:
        return None
    volume = Decimal(match["volume"] or "1")
    return Decimal(match["amount"]) * _UNIT_MG[match["unit"].lower()] / volume


def _number(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _round_mg(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1") if value < 10 else Decimal("1"), rounding=ROUND_HALF_UP)


def _times(count: int) -> str:
    return {1: "once a day", 2: "twice a day"}.get(count, f"{count} times a day")


def child_dose(product: Product, weight_kg: Decimal) -> DoseSuggestion | None:
    """The standard dose of `product` for a child of `weight_kg`, or None when its formulary entry
    has no paediatric dose by weight (or the weight is implausible)."""
    if not (MIN_WEIGHT_KG <= weight_kg <= MAX_WEIGHT_KG):
        return None
    for component in product.components:
        molecule = drug_reference.molecule(component.inn)
        standard = molecule.paediatric_dose if molecule else None
        if standard is None:
            continue
        per_kg = Decimal(str(standard.mg_per_kg))
        by_weight = per_kg * weight_kg
        if standard.per == "day":
            by_weight = by_weight / standard.doses_per_day
        by_weight = _round_mg(by_weight)
        limits = []
        if standard.max_mg_per_dose:
            limits.append(Decimal(str(standard.max_mg_per_dose)))
        if standard.max_mg_per_day:
            limits.append(Decimal(str(standard.max_mg_per_day)) / standard.doses_per_day)
        cap = _round_mg(min(limits)) if limits else None
        capped = cap is not None and by_weight > cap
        per_dose = cap if capped and cap is not None else by_weight
        dose = f"{_number(per_dose)} mg"
        concentration = _mg_per_ml(component.strength)
        if concentration:
            ml = per_dose / concentration
            step = Decimal("0.1") if ml < 5 else Decimal("0.5")  # what an oral syringe or a cup measures
            ml = (ml / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step
            if ml > 0:
                dose = f"{_number(ml)} mL"
        divided = f" / {standard.doses_per_day} doses" if standard.per == "day" and standard.doses_per_day > 1 else ""
        explanation = (
            f"{molecule.name if molecule else component.inn}: {_number(per_kg)} mg/kg/{standard.per}"
            f" x {_number(weight_kg)} kg{divided} = {_number(by_weight)} mg a dose"
            + (f", capped at the maximum of {_number(per_dose)} mg" if capped else "")
            + (f" ({dose})" if dose.endswith("mL") else "")
            + f", {_times(standard.doses_per_day)}"
        )
        return DoseSuggestion(
            inn=component.inn,
            mg_per_dose=per_dose,
            doses_per_day=standard.doses_per_day,
            frequency=SLOTS.get(standard.doses_per_day, ""),
            dose=dose,
            capped=capped,
            explanation=explanation,
            verified=standard.verified,
        )
    return None
