"""The reference formulary data file's integrity: every brand maps to known molecules, every
molecule has an ATC code and a source, the NLEM outpatient molecules are there, and the JSON is
what scripts/build_formulary.py builds (so the two never drift apart)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from clinical import drug_reference

ATC = re.compile(r"^[A-Z]\d{2}[A-Z]{1,2}(\d{2})?$")
# Molecules of NLEM 2022 used in outpatient primary care that the formulary must have.
NLEM_OUTPATIENT = (
    *("paracetamol", "ibuprofen", "diclofenac", "acetylsalicylic acid", "amoxicillin", "clavulanic acid"),
    *("azithromycin", "cefixime", "cefalexin", "ciprofloxacin", "doxycycline", "metronidazole", "nitrofurantoin"),
    *("sulfamethoxazole", "trimethoprim", "albendazole", "fluconazole", "clotrimazole", "aciclovir", "omeprazole"),
    *("pantoprazole", "famotidine", "ondansetron", "oral rehydration salts", "zinc sulfate", "cetirizine"),
    *("chlorphenamine", "montelukast", "salbutamol", "budesonide", "prednisolone", "amlodipine", "telmisartan"),
    *("losartan", "enalapril", "atenolol", "metoprolol", "hydrochlorothiazide", "furosemide", "atorvastatin"),
    *("clopidogrel", "metformin", "glimepiride", "levothyroxine", "folic acid", "ferrous sulfate"),
    *("calcium carbonate", "cholecalciferol", "amitriptyline", "escitalopram", "isoniazid", "rifampicin"),
    *("chloroquine", "permethrin"),
)


def test_every_molecule_has_an_atc_code_a_class_and_a_source():
    data = drug_reference.data()
    vocabulary = set(data["allergy_classes"])
    for molecule in data["molecules"]:
        assert ATC.match(molecule["atc"]), molecule["inn"]
        assert molecule["class"] and molecule["source"], molecule["inn"]
        assert set(molecule["allergy_classes"]) <= vocabulary, molecule["inn"]
        assert molecule["hsn"] == "3004" and molecule["gst_rate"] == 5
        assert isinstance(molecule["verified"], bool)
        for form in molecule["forms"]:
            assert form["form"] and form["strengths"], molecule["inn"]


def test_every_brand_maps_to_known_molecules_and_there_are_at_least_300():
    data = drug_reference.data()
    known = {m["inn"] for m in data["molecules"]}
    brands = data["brands"]
    assert len(brands) >= 300
    assert len({b["name"].lower() for b in brands}) == len(brands)
    for brand in brands:
        assert brand["components"] and brand["form"] and brand["source"], brand["name"]
        for component in brand["components"]:
            assert component["inn"] in known and component["strength"], brand["name"]
    for combination in data["combinations"]:
        assert {c["inn"] for c in combination["components"]} <= known


def test_nlem_outpatient_molecules_are_present_and_marked():
    molecules = {m["inn"]: m for m in drug_reference.data()["molecules"]}
    assert [name for name in NLEM_OUTPATIENT if name not in molecules] == []
    assert [name for name in NLEM_OUTPATIENT if not molecules[name]["nlem"]] == []


def test_paediatric_doses_are_complete():
    for molecule in drug_reference.data()["molecules"]:
        dose = molecule.get("paediatric_dose")
        if dose:
            assert dose["mg_per_kg"] > 0 and dose["per"] in ("dose", "day") and dose["doses_per_day"] >= 1
            assert dose["max_mg_per_dose"] > 0 and dose["source"]


def test_the_data_file_is_what_the_build_script_builds():
    path = Path(__file__).resolve().parents[2] / "scripts" / "build_formulary.py"
    spec = importlib.util.spec_from_file_location("build_formulary", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == drug_reference.data(), "run: python scripts/build_formulary.py"
