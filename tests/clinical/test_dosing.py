"""Child doses from weight: mg/kg with a maximum, volumes for liquids, offered in the medicine
search when the prescription is for a weighed child."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clinical import drug_reference
from clinical.dosing import child_dose
from tests.clinical.clinical_helpers import draft_visit, make_patient


def _dose(brand: str, weight: str):
    return child_dose(drug_reference.brand_named(brand), Decimal(weight))


def test_paracetamol_syrup_by_weight_in_millilitres():
    dose = _dose("Calpol 250", "20")
    assert (dose.mg_per_dose, dose.dose, dose.frequency, dose.capped) == (Decimal(300), "6 mL", "1-1-1-1", False)
    assert "15 mg/kg/dose x 20 kg = 300 mg" in dose.explanation


def test_daily_doses_are_divided_and_drops_measured_finely():
    amoxicillin = _dose("Augmentin Duo Oral Suspension", "12")  # 40 mg/kg/day in 3 doses, of amoxicillin
    assert (amoxicillin.inn, amoxicillin.mg_per_dose, amoxicillin.dose) == ("amoxicillin", Decimal(160), "4 mL")
    assert _dose("Crocin Drops", "8").dose == "1.2 mL"
    assert _dose("Azithral 200 Liquid", "15").frequency == "1-0-0"


def test_the_maximum_caps_a_heavy_childs_dose():
    dose = _dose("Dolo 650", "70")
    assert (dose.mg_per_dose, dose.dose, dose.capped) == (Decimal(1000), "1000 mg", True)
    assert "capped at the maximum of 1000 mg" in dose.explanation


def test_no_suggestion_without_a_standard_dose_or_a_plausible_weight():
    assert _dose("Atorva 10", "20") is None
    assert _dose("Calpol 250", "0") is None and _dose("Calpol 250", "500") is None


@pytest.mark.usefixtures("clock")
def test_prescription_page_offers_child_doses_for_a_weighed_child(clinic_a, client_for):
    child = make_patient(clinic_a, date_of_birth=dt.date.today() - dt.timedelta(days=6 * 365))
    visit = draft_visit(clinic_a, child, weight_kg=Decimal("20.0"))
    client = client_for(clinic_a, "doctor")
    page = client.get(f"/patients/{child.pk}/prescriptions/new", {"visit": str(visit.pk)}).content.decode()
    assert 'data-child-weight-kg="20.0"' in page and "Child doses are suggested for" in page
    results = client.get("/formulary/search", {"q": "Calpol 250", "child_weight_kg": "20.0"}).json()["results"]
    assert (results[0]["dose"], results[0]["frequency"]) == ("6 mL", "1-1-1-1") and results[0]["dose_note"]
    plain = client.get("/formulary/search", {"q": "Calpol 250", "child_weight_kg": "abc"}).json()["results"]
    assert plain[0]["dose"] == "" and plain[0]["dose_note"] == ""
    api = client.get("/api/v1/medicines", {"q": "Calpol 250", "child_weight_kg": "20"}).json()
    assert api["results"][0]["dose"] == "6 mL"


def test_no_child_dosing_for_adults(clinic_a, client_for):
    adult = make_patient(clinic_a, date_of_birth=dt.date(1980, 1, 1))
    visit = draft_visit(clinic_a, adult, weight_kg=Decimal("70.0"))
    page = client_for(clinic_a, "doctor").get(f"/patients/{adult.pk}/prescriptions/new", {"visit": str(visit.pk)})
    assert "data-child-weight-kg" not in page.content.decode()
