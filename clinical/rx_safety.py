"""Prescription safety checks: pure functions from a prescription's lines and the patient's allergies
to typed findings. The services (`clinical.services.prescription_sign`) run them, so the HTML pages and
the API enforce the same rules; nothing here reads the database.

Findings, each with a stable `code` the prescriber overrides with a reason:
- `allergy:<class key>` (or `allergy:<inn>` for an allergy to one molecule): a line's molecule belongs
  to a class the patient is allergic to (penicillins, sulfonamides, NSAIDs...);
- `cross_reactivity:<allergy class>:<prescribed class>`: a related class with a documented
  cross-reactivity note (a cephalosporin for a patient allergic to penicillin);
- `duplicate:<inn>`: the same molecule on two lines (also through a combination product);
- `interaction:<rule id>`: one of the curated high-risk interactions of `data/interactions.json`.

Classes and interactions are data (`clinical/data/*.json`), each entry with its source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from clinical import drug_reference

DATA = Path(__file__).resolve().parent / "data"


class MoleculeLike(Protocol):
    """What the checks need of a molecule (clinical.drug_reference.Molecule has these)."""

    @property
    def inn(self) -> str: ...

    @property
    def atc(self) -> str: ...

    @property
    def allergy_classes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Molecule:
    inn: str
    atc: str = ""
    allergy_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AllergyClass:
    key: str
    label: str
    atc_prefixes: tuple[str, ...]
    members: frozenset[str]
    aliases: tuple[str, ...]
    cross_reactivity: tuple[tuple[str, str], ...]  # (other class key, note)
    source: str


@dataclass(frozen=True)
class InteractionSide:
    label: str
    molecules: frozenset[str]
    atc_prefixes: tuple[str, ...]
    classes: frozenset[str]


@dataclass(frozen=True)
class InteractionRule:
    id: str
    a: InteractionSide
    b: InteractionSide
    severity: str
    message: str
    advice: str
    source: str


@dataclass(frozen=True)
class Allergy:
    """One of the patient's allergies as the check sees it: structured, or a line of the free text."""

    allergen: str
    class_key: str = ""
    reaction: str = ""
    severity: str = "unknown"
    recorded: bool = True  # False: read from the free-text allergies field


@dataclass(frozen=True)
class Line:
    """A prescription line: its position (0-based) and what names the medicine."""

    index: int
    name: str
    strength: str = ""


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str  # allergy | cross_reactivity | duplicate | interaction
    severity: str  # severe | moderate | unknown...
    title: str
    message: str
    lines: tuple[int, ...]  # 0-based line positions
    note: str = ""
    source: str = ""
    molecules: tuple[str, ...] = field(default=())

    @property
    def line_numbers(self) -> str:
        return ", ".join(str(index + 1) for index in self.lines)


# --- reference data ----------------------------------------------------------------------------------


def _load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def allergy_classes() -> dict[str, AllergyClass]:
    classes: dict[str, AllergyClass] = {}
    for raw in _load("allergy_classes.json")["classes"]:
        classes[raw["key"]] = AllergyClass(
            key=raw["key"],
            label=raw["label"],
            atc_prefixes=tuple(raw.get("atc_prefixes", ())),
            members=frozenset(name.lower() for name in raw.get("members", ())),
            aliases=tuple(alias.lower() for alias in raw.get("aliases", ())),
            cross_reactivity=tuple((item["with"], item["note"]) for item in raw.get("cross_reactivity", ())),
            source=raw["source"],
        )
    return classes


def _side(raw: dict[str, Any]) -> InteractionSide:
    return InteractionSide(
        label=raw["label"],
        molecules=frozenset(name.lower() for name in raw.get("molecules", ())),
        atc_prefixes=tuple(raw.get("atc_prefixes", ())),
        classes=frozenset(raw.get("classes", ())),
    )


@cache
def interaction_rules() -> tuple[InteractionRule, ...]:
    return tuple(
        InteractionRule(
            id=raw["id"],
            a=_side(raw["a"]),
            b=_side(raw["b"]),
            severity=raw["severity"],
            message=raw["message"],
            advice=raw.get("advice", ""),
            source=raw["source"],
        )
        for raw in _load("interactions.json")["rules"]
    )


def class_choices() -> list[tuple[str, str]]:
    return [(item.key, item.label) for item in allergy_classes().values()]


# --- naming molecules --------------------------------------------------------------------------------

# Beside the reference formulary (clinical.drug_reference), names are matched against the molecules
# of our own data files plus common Indian spellings and a few brands, by whole words.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "amoxycillin": ("amoxicillin",),
    "cephalexin": ("cefalexin",),
    "cefalexine": ("cefalexin",),
    "sulphamethoxazole": ("sulfamethoxazole",),
    "cotrimoxazole": ("sulfamethoxazole", "trimethoprim"),
    "co trimoxazole": ("sulfamethoxazole", "trimethoprim"),
    "aspirin": ("acetylsalicylic acid",),
    "indomethacin": ("indometacin",),
    "frusemide": ("furosemide",),
    "glyceryl trinitrate": ("glyceryl trinitrate",),
    "nitroglycerin": ("glyceryl trinitrate",),
    "isosorbide": ("isosorbide mononitrate",),
    "clavulanate": ("clavulanic acid",),
    "paracetamol": ("paracetamol",),
    "acetaminophen": ("paracetamol",),
    "augmentin": ("amoxicillin", "clavulanic acid"),
    "moxclav": ("amoxicillin", "clavulanic acid"),
    "mox": ("amoxicillin",),
    "novamox": ("amoxicillin",),
    "brufen": ("ibuprofen",),
    "combiflam": ("ibuprofen", "paracetamol"),
    "voveran": ("diclofenac",),
    "zerodol": ("aceclofenac",),
    "meftal": ("mefenamic acid",),
    "ecosprin": ("acetylsalicylic acid",),
    "disprin": ("acetylsalicylic acid",),
    "septran": ("sulfamethoxazole", "trimethoprim"),
    "bactrim": ("sulfamethoxazole", "trimethoprim"),
    "azee": ("azithromycin",),
    "azithral": ("azithromycin",),
    "ciplox": ("ciprofloxacin",),
    "taxim o": ("cefixime",),
    "zifi": ("cefixime",),
    "dolo": ("paracetamol",),
    "crocin": ("paracetamol",),
    "calpol": ("paracetamol",),
    "deriphyllin": ("theophylline",),
    "ultracet": ("tramadol", "paracetamol"),
}
# Molecules the fallback knows beyond the classes and interaction rules (to catch duplicates).
_COMMON = (
    "paracetamol",
    "cetirizine",
    "levocetirizine",
    "fexofenadine",
    "pantoprazole",
    "rabeprazole",
    "ranitidine",
    "famotidine",
    "metformin",
    "glimepiride",
    "gliclazide",
    "amlodipine",
    "metoprolol",
    "montelukast",
    "salbutamol",
    "prednisolone",
    "levothyroxine",
)


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) + " "


@cache
def _fallback_vocabulary() -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {name: (name,) for name in _COMMON}
    for item in allergy_classes().values():
        names.update({member: (member,) for member in item.members})
    for rule in interaction_rules():
        names.update({molecule: (molecule,) for molecule in rule.a.molecules | rule.b.molecules})
    names.update(_SPELLINGS)
    return names


def _fallback_molecules(text: str) -> list[MoleculeLike]:
    words = _words(text)
    found: list[str] = []
    # Longest names first, so "clavulanic acid" is read before a shorter name inside it.
    for name, inns in sorted(_fallback_vocabulary().items(), key=lambda pair: -len(pair[0])):
        if f" {_words(name).strip()} " in words:
            found.extend(inn for inn in inns if inn not in found)
    return [Molecule(inn=inn) for inn in found]


def molecules_for(text: str) -> list[MoleculeLike]:
    """THE seam to the drug reference: the molecules a medicine's text names ("Augmentin 625" ->
    amoxicillin, clavulanic acid), from `clinical.drug_reference.molecules_for`, plus what the local
    vocabulary of the class and interaction data recognises (so a molecule named only there, or a
    free-text line, is still checked)."""
    molecules: list[MoleculeLike] = list(drug_reference.molecules_for(text))
    known = {molecule.inn.lower() for molecule in molecules}
    molecules.extend(m for m in _fallback_molecules(text) if m.inn.lower() not in known)
    return molecules


def classes_of(molecule: MoleculeLike) -> frozenset[str]:
    """The allergy classes a molecule belongs to: its own (reference), by INN or by ATC prefix."""
    inn = molecule.inn.lower()
    atc = (molecule.atc or "").upper()
    keys = set(molecule.allergy_classes or ())
    for item in allergy_classes().values():
        if inn in item.members or (atc and any(atc.startswith(prefix) for prefix in item.atc_prefixes)):
            keys.add(item.key)
    return frozenset(key for key in keys if key in allergy_classes())


def allergen_class_for(text: str) -> str:
    """The allergy class free text names ("Penicillin - rash", "sulpha", "NSAIDs", "Augmentin"), or ""."""
    words = _words(text)
    for item in allergy_classes().values():
        if any(f" {_words(alias).strip()} " in words for alias in item.aliases):
            return item.key
    for molecule in molecules_for(text):
        keys = classes_of(molecule)
        if keys:
            return sorted(keys)[0]
    return ""


def free_text_allergies(text: str) -> list[Allergy]:
    """The free-text allergies field, one allergy per line or comma/semicolon-separated item."""
    parts = [part.strip(" .-\u2013\u2014") for part in re.split(r"[\n;,]+", text or "")]
    return [Allergy(allergen=part, class_key=allergen_class_for(part), recorded=False) for part in parts if part]


# --- the checks --------------------------------------------------------------------------------------


def _line_label(line: Line) -> str:
    return " ".join(part for part in (line.name, line.strength) if part)


def _side_matches(side: InteractionSide, molecule: MoleculeLike) -> bool:
    atc = (molecule.atc or "").upper()
    return (
        molecule.inn.lower() in side.molecules
        or bool(atc and any(atc.startswith(prefix) for prefix in side.atc_prefixes))
        or bool(side.classes & classes_of(molecule))
    )


def _describe(allergies: Sequence[Allergy]) -> str:
    parts = []
    for allergy in allergies:
        severity = allergy.severity if allergy.severity != "unknown" else ""
        details = ", ".join(d for d in (allergy.reaction, severity) if d)
        parts.append(f"{allergy.allergen}{f' ({details})' if details else ''}")
    return "; ".join(parts)


def check(lines: Iterable[Line], allergies: Iterable[Allergy]) -> list[Finding]:
    """Every safety finding for these lines and allergies, in a stable order."""
    lines = list(lines)
    allergies = list(allergies)
    resolved = [(line, molecules_for(f"{line.name} {line.strength}")) for line in lines]
    classes = allergy_classes()
    findings: list[Finding] = []

    # Allergies: by class, or by the one molecule an allergy names.
    by_class: dict[str, list[Allergy]] = {}
    by_molecule: dict[str, list[Allergy]] = {}
    for allergy in allergies:
        if allergy.class_key in classes:
            by_class.setdefault(allergy.class_key, []).append(allergy)
        else:
            for molecule in molecules_for(allergy.allergen):
                by_molecule.setdefault(molecule.inn.lower(), []).append(allergy)
    for key, recorded in by_class.items():
        hits = [(line, m) for line, molecules in resolved for m in molecules if key in classes_of(m)]
        if hits:
            label = classes[key].label.lower()
            findings.append(_allergy_finding(f"allergy:{key}", label, recorded, hits, classes[key].source))
    for inn, recorded in by_molecule.items():
        hits = [(line, m) for line, molecules in resolved for m in molecules if m.inn.lower() == inn]
        if hits and not any(key in by_class for _, m in hits for key in classes_of(m)):
            findings.append(_allergy_finding(f"allergy:{_slug(inn)}", inn, recorded, hits, ""))

    # Cross-reactivity: a prescribed class related to a class the patient is allergic to.
    for prescribed in classes.values():
        for other, note in prescribed.cross_reactivity:
            if other not in by_class or prescribed.key in by_class:
                continue
            hits = [(line, m) for line, molecules in resolved for m in molecules if prescribed.key in classes_of(m)]
            if hits:
                findings.append(
                    Finding(
                        code=f"cross_reactivity:{other}:{prescribed.key}",
                        kind="cross_reactivity",
                        severity="moderate",
                        title=f"{prescribed.label} with a {classes[other].label.lower()} allergy",
                        message=f"{_hits_text(hits)}: {prescribed.label.lower()}; the patient is allergic to "
                        f"{classes[other].label.lower()} ({_describe(by_class[other])}).",
                        lines=_positions(hits),
                        note=note,
                        source=prescribed.source,
                        molecules=_inns(hits),
                    )
                )

    # The same molecule on two lines.
    seen: dict[str, list[Line]] = {}
    for line, molecules in resolved:
        keys = {m.inn.lower() for m in molecules} or {_words(line.name).strip()}
        for key in keys:
            if key and line not in seen.setdefault(key, []):
                seen[key].append(line)
    for key, twice in seen.items():
        if len(twice) > 1:
            findings.append(
                Finding(
                    code=f"duplicate:{_slug(key)}",
                    kind="duplicate",
                    severity="moderate",
                    title=f"{key.capitalize()} prescribed twice",
                    message=f"Lines {', '.join(str(line.index + 1) for line in twice)} ("
                    + "; ".join(_line_label(line) for line in twice)
                    + f") each contain {key}: the patient would take it twice.",
                    lines=tuple(line.index for line in twice),
                    molecules=(key,),
                )
            )

    # Curated interactions.
    for rule in interaction_rules():
        side_a = [(line, m) for line, molecules in resolved for m in molecules if _side_matches(rule.a, m)]
        side_b = [(line, m) for line, molecules in resolved for m in molecules if _side_matches(rule.b, m)]
        pairs = {(a[0].index, b[0].index) for a in side_a for b in side_b if a[0].index != b[0].index}
        if not pairs:
            continue
        hits = [hit for hit in side_a + side_b if any(hit[0].index in pair for pair in pairs)]
        findings.append(
            Finding(
                code=f"interaction:{rule.id}",
                kind="interaction",
                severity=rule.severity,
                title=f"Interaction: {rule.a.label} + {rule.b.label}",
                message=f"{_hits_text(hits)}. {rule.message}",
                lines=_positions(hits),
                note=rule.advice,
                source=rule.source,
                molecules=_inns(hits),
            )
        )
    return findings


def _allergy_finding(
    code: str, what: str, recorded: list[Allergy], hits: list[tuple[Line, MoleculeLike]], source: str
) -> Finding:
    ranks = ("unknown", "mild", "moderate", "severe")
    severity = max((a.severity for a in recorded), key=lambda s: ranks.index(s) if s in ranks else 0)
    free_text = all(not allergy.recorded for allergy in recorded)
    return Finding(
        code=code,
        kind="allergy",
        severity=severity,
        title=f"Allergy: {what}",
        message=f"{_hits_text(hits)}: the patient is allergic to {what} ({_describe(recorded)}"
        + (", from the allergies written on the chart" if free_text else "")
        + ").",
        lines=_positions(hits),
        source=source,
        molecules=_inns(hits),
    )


def _hits_text(hits: list[tuple[Line, MoleculeLike]]) -> str:
    by_line: dict[int, tuple[Line, list[str]]] = {}
    for line, molecule in hits:
        entry = by_line.setdefault(line.index, (line, []))
        if molecule.inn not in entry[1]:
            entry[1].append(molecule.inn)
    text = "; ".join(
        f"line {index + 1}, {_line_label(line)} ({', '.join(inns)})" for index, (line, inns) in sorted(by_line.items())
    )
    return text[:1].upper() + text[1:]


def _positions(hits: list[tuple[Line, MoleculeLike]]) -> tuple[int, ...]:
    return tuple(sorted({line.index for line, _ in hits}))


def _inns(hits: list[tuple[Line, MoleculeLike]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(molecule.inn.lower() for _, molecule in hits))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
