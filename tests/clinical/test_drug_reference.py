"""The reference formulary: search by brand or generic (prefix, typos) with strength and form, and
resolving a prescription line's medicine to its molecules (for the allergy and duplicate checks)."""

from __future__ import annotations

import pytest

from clinical import drug_reference
from clinical.drug_reference import Molecule


@pytest.mark.parametrize(
    ("typed", "molecule", "kind"),
    [
        ("Amoxi", "amoxicillin", "generic"),
        ("Azi", "azithromycin", "generic"),
        ("Dol", "paracetamol", "brand"),
        ("Crocin", "paracetamol", "brand"),
        ("Aug", "amoxicillin", "brand"),
    ],
)
def test_search_finds_what_indian_doctors_type_with_strength_and_form(typed, molecule, kind):
    results = drug_reference.search(typed)
    assert results, f"{typed!r} finds nothing"
    first = results[0]
    assert first.kind == kind and molecule in first.inns
    assert first.name.lower().startswith(typed.lower())
    assert all(product.strength and product.form for product in results)


def test_brand_results_show_their_generic_strength_and_form():
    dolo = next(p for p in drug_reference.search("Dolo 650") if p.name == "Dolo 650")
    assert (dolo.strength, dolo.form, dolo.generic) == ("650 mg", "Tablet", "Paracetamol 650 mg")
    assert dolo.label == "Dolo 650 — Paracetamol 650 mg, Tablet"
    augmentin = next(p for p in drug_reference.search("Augmentin 625") if p.name.startswith("Augmentin 625"))
    assert augmentin.strength == "500 mg + 125 mg"
    assert augmentin.generic == "Amoxicillin 500 mg + Clavulanic acid 125 mg"


@pytest.mark.parametrize(("typo", "molecule"), [("Paracetmol", "paracetamol"), ("Azithromicin", "azithromycin")])
def test_search_tolerates_typos(typo, molecule):
    results = drug_reference.search(typo)
    assert results and results[0].inns == (molecule,)


def test_search_words_in_any_order_and_too_short_queries():
    assert [p.name for p in drug_reference.search("650 dolo")] == ["Dolo 650"]
    assert drug_reference.search("p") == [] and drug_reference.search("  ") == []


def test_entries_not_checked_against_their_source_say_so():
    assert all(product.verified is False for product in drug_reference.search("Crocin"))


@pytest.mark.parametrize(
    ("typed", "inns"),
    [
        ("Augmentin 625", ["amoxicillin", "clavulanic acid"]),
        ("Dolo 650", ["paracetamol"]),
        ("Tab. Crocin 650 mg", ["paracetamol"]),
        ("Crocin", ["paracetamol"]),
        ("Septran DS", ["sulfamethoxazole", "trimethoprim"]),
        ("Amoxicillin + Clavulanic acid 625", ["amoxicillin", "clavulanic acid"]),
        ("Cotrimoxazole", ["sulfamethoxazole", "trimethoprim"]),
        ("Paracetamol 500 mg", ["paracetamol"]),
        ("Amoxycillin", ["amoxicillin"]),
        ("amoxycilin 500", ["amoxicillin"]),
        ("Combiflam", ["ibuprofen", "paracetamol"]),
        ("Something the clinic made up", []),
        ("", []),
    ],
)
def test_molecules_for_resolves_brands_generics_and_combinations(typed, inns):
    assert [m.inn for m in drug_reference.molecules_for(typed)] == inns


def test_molecules_carry_atc_and_allergy_classes():
    amoxicillin, clavulanic = drug_reference.molecules_for("Augmentin 625")
    assert isinstance(amoxicillin, Molecule)
    assert amoxicillin.atc == "J01CA04" and "penicillins" in amoxicillin.allergy_classes
    assert isinstance(amoxicillin.allergy_classes, frozenset)
    assert "beta_lactams" in clavulanic.allergy_classes
    (sulfa, _) = drug_reference.molecules_for("Septran DS")
    assert "sulfonamides" in sulfa.allergy_classes
    assert "nsaids" in drug_reference.molecules_for("Brufen 400")[0].allergy_classes
    assert drug_reference.molecules_for("Dolo 650")[0].allergy_classes == frozenset()
    labels = drug_reference.allergy_class_labels()
    assert labels["penicillins"] == "Penicillins" and "cephalosporins" in labels


def test_paediatric_dose_by_weight_where_standard():
    dose = drug_reference.molecule("paracetamol").paediatric_dose
    assert dose is not None and (dose.mg_per_kg, dose.per, dose.max_mg_per_dose) == (15, "dose", 1000)
    assert drug_reference.molecule("atorvastatin").paediatric_dose is None
