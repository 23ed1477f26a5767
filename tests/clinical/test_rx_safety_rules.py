"""The safety checks as pure functions: allergy classes (by INN, ATC prefix, free text), cephalosporin
cross-reactivity, duplicate molecules, every curated interaction rule, and the seam to the drug reference."""

from __future__ import annotations

import sys
import types

import pytest

from clinical import rx_safety
from clinical.rx_safety import Allergy, Line, Molecule

PENICILLIN = Allergy(allergen="Penicillin", class_key="penicillins", reaction="Urticaria", severity="severe")


def _codes(names: list[str], allergies: list[Allergy] = ()) -> set[str]:  # type: ignore[assignment]
    return {finding.code for finding in rx_safety.check([Line(i, n) for i, n in enumerate(names)], allergies)}


def test_amoxicillin_and_augmentin_are_penicillins_for_a_penicillin_allergy():
    findings = rx_safety.check([Line(0, "Amoxycillin", "500 mg"), Line(1, "Augmentin", "625 mg")], [PENICILLIN])
    assert [f.code for f in findings] == ["allergy:penicillins", "duplicate:amoxicillin"]
    finding = findings[0]
    assert finding.kind == "allergy"
    assert finding.lines == (0, 1) and finding.severity == "severe"
    assert "Urticaria" in finding.message and "Augmentin 625 mg (amoxicillin, clavulanic acid)" in finding.message
    assert "J01C" in finding.source


def test_free_text_allergies_map_to_classes():
    assert [a.class_key for a in rx_safety.free_text_allergies("Penicillin — rash\nSulpha drugs; NSAIDs, dust")] == [
        "penicillins",
        "sulfonamides",
        "nsaids",
        "",
    ]
    assert rx_safety.allergen_class_for("Aspirin (wheeze)") == "nsaids"
    assert rx_safety.allergen_class_for("Brufen") == "nsaids"
    assert rx_safety.allergen_class_for("Cefixime") == "cephalosporins"
    assert rx_safety.allergen_class_for("Peanuts") == ""


def test_other_classes_are_blocked_too():
    sulfa = rx_safety.free_text_allergies("Sulfa drugs")
    nsaid = rx_safety.free_text_allergies("NSAIDs - angioedema")
    assert _codes(["Septran DS"], sulfa) == {"allergy:sulfonamides"}
    assert _codes(["Trimethoprim"], sulfa) == set()  # not a sulfonamide
    assert _codes(["Ecosprin 75"], nsaid) == {"allergy:nsaids"}
    assert _codes(["Diclofenac"], nsaid) == {"allergy:nsaids"}
    assert _codes(["Paracetamol"], nsaid) == set()


def test_an_allergy_to_one_molecule_outside_the_classes_is_checked_by_molecule():
    allergy = Allergy(allergen="Metformin", reaction="Rash")
    (finding,) = rx_safety.check([Line(0, "Metformin", "500 mg")], [allergy])
    assert finding.code == "allergy:metformin"


def test_cephalosporin_with_penicillin_allergy_warns_with_the_cross_reactivity_note():
    (finding,) = rx_safety.check([Line(0, "Cefuroxime", "500 mg")], [PENICILLIN])
    assert finding.code == "cross_reactivity:penicillins:cephalosporins"
    assert finding.kind == "cross_reactivity"
    assert "side chain" in finding.note and "1-2%" in finding.note
    assert finding.source


def test_same_molecule_twice_is_a_duplicate_also_through_a_combination():
    (finding,) = rx_safety.check([Line(0, "Augmentin", "625 mg"), Line(1, "Amoxicillin", "500 mg")], [])
    assert finding.code == "duplicate:amoxicillin" and finding.lines == (0, 1)
    assert _codes(["Dolo 650", "Paracetamol 500"]) == {"duplicate:paracetamol"}
    assert _codes(["Zincovit", "zincovit"]) == {"duplicate:zincovit"}  # unknown names: by name
    assert _codes(["Paracetamol", "Cetirizine"]) == set()


INTERACTION_CASES = {
    "warfarin-nsaid": ("Warfarin 5 mg", "Brufen 400"),
    "methotrexate-trimethoprim": ("Methotrexate 7.5 mg", "Septran DS"),
    "methotrexate-nsaid": ("Methotrexate 7.5 mg", "Diclofenac 50"),
    "macrolide-statin": ("Clarithromycin 500", "Simvastatin 20"),
    "pde5-nitrate": ("Sildenafil 50", "Isosorbide mononitrate 20"),
    "acei-potassium-sparing": ("Ramipril 5", "Spironolactone 25"),
    "tramadol-serotonergic": ("Tramadol 50", "Sertraline 50"),
    "ciprofloxacin-theophylline": ("Ciprofloxacin 500", "Theophylline 300"),
    "fluoroquinolone-qt": ("Levofloxacin 500", "Amiodarone 200"),
    "clopidogrel-ppi": ("Clopidogrel 75", "Omeprazole 20"),
}


def test_every_interaction_rule_has_a_case_and_a_source():
    rules = rx_safety.interaction_rules()
    assert {rule.id for rule in rules} == set(INTERACTION_CASES)
    assert all(rule.source and rule.message and rule.severity in ("severe", "moderate") for rule in rules)
    assert all(item.source for item in rx_safety.allergy_classes().values())


@pytest.mark.parametrize("rule_id", sorted(INTERACTION_CASES))
def test_interaction_rule_fires_on_its_pair_only(rule_id):
    first, second = INTERACTION_CASES[rule_id]
    findings = rx_safety.check([Line(0, first), Line(1, second)], [])
    assert [f.code for f in findings if f.kind == "interaction"] == [f"interaction:{rule_id}"]
    (finding,) = [f for f in findings if f.kind == "interaction"]
    assert finding.lines == (0, 1) and finding.source
    assert not [f for f in rx_safety.check([Line(0, first), Line(1, "Paracetamol")], []) if f.kind == "interaction"]


def test_the_seam_uses_the_drug_reference_when_it_is_installed(monkeypatch):
    """clinical.drug_reference (the formulary) names molecules with ATC codes: classes follow the prefix."""
    reference = types.ModuleType("clinical.drug_reference")

    def molecules_for(text: str) -> list[Molecule]:
        return [Molecule(inn="cefpodoxime", atc="J01DD13")] if "cepodem" in text.lower() else []

    reference.molecules_for = molecules_for  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "clinical.drug_reference", reference)
    assert [m.inn for m in rx_safety.molecules_for("Cepodem 200")] == ["cefpodoxime"]
    (finding,) = rx_safety.check([Line(0, "Cepodem", "200 mg")], [PENICILLIN])
    assert finding.code == "cross_reactivity:penicillins:cephalosporins"
