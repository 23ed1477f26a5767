"""The reference formulary: generic molecules, generic combinations and Indian brands, read from
clinical/data/formulary.json (built by scripts/build_formulary.py; every entry names its source and
whether it was checked against it).

Loaded once per process and kept in memory (a few hundred kilobytes): it is reference data, the
same for every clinic, so it lives in the repository rather than in a tenant table. The clinic's
own learned formulary (clinical.models.FormularyDrug) is searched beside it (selectors).

- `search(text, limit)`: brand or generic, by prefix and with typo tolerance, with strength and form;
- `molecules_for(text)`: the molecules a prescription line's medicine names ("Augmentin 625" ->
  amoxicillin and clavulanic acid), for the allergy and duplicate checks;
- `molecule(inn)`, `allergy_class_labels()`.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "formulary.json"
STRENGTH_MAX = 40  # PrescriptionItem.strength's length
SEARCH_LIMIT = 10

# Words written before a medicine on an Indian prescription ("Tab. Dolo 650") that are not its name.
_DOSAGE_WORDS = frozenset(
    {"tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules", "syp", "syrup", "susp", "inj"}
    | {"injection", "oint", "ointment", "cr", "gel", "drops", "drop", "sachet", "inh", "inhaler", "rx"}
)
# Names of combinations that name none of their molecules.
_COMBINATION_NAMES = {
    "cotrimoxazole": ("sulfamethoxazole", "trimethoprim"),
    "co trimoxazole": ("sulfamethoxazole", "trimethoprim"),
    "co amoxiclav": ("amoxicillin", "clavulanic acid"),
    "amoxiclav": ("amoxicillin", "clavulanic acid"),
}
_ROUTES = (
    ("sublingual", "Sublingual"),
    ("eye", "Eye"),
    ("ear", "Ear"),
    ("nasal", "Nasal"),
    ("vaginal", "Vaginal"),
    ("suppository", "Rectal"),
    ("inhaler", "Inhalation"),
    ("rotacap", "Inhalation"),
    ("respirator", "Inhalation"),
    ("injection", ""),
    ("cream", "Topical"),
    ("ointment", "Topical"),
    ("gel", "Topical"),
    ("lotion", "Topical"),
    ("dusting", "Topical"),
    ("shampoo", "Topical"),
    ("jelly", "Topical"),
    ("mouth paint", "Topical"),
)


@dataclass(frozen=True)
class PaediatricDose:
    """A standard dose by weight: `mg_per_kg` per dose or per day (divided into `doses_per_day`)."""

    mg_per_kg: float
    per: str  # "dose" | "day"
    doses_per_day: int
    max_mg_per_dose: float | None
    max_mg_per_day: float | None
    source: str
    verified: bool


@dataclass(frozen=True)
class Molecule:
    inn: str
    atc: str
    allergy_classes: frozenset[str]
    therapeutic_class: str = ""
    synonyms: tuple[str, ...] = ()
    forms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    nlem: bool = False
    hsn: str = ""
    gst_rate: int | None = None
    source: str = ""
    verified: bool = False
    paediatric_dose: PaediatricDose | None = None

    @property
    def name(self) -> str:
        return self.inn[:1].upper() + self.inn[1:]


@dataclass(frozen=True)
class Component:
    inn: str
    strength: str


@dataclass(frozen=True)
class Product:
    """One thing a doctor can pick: a brand ("Dolo 650") or a generic product ("Paracetamol 650 mg tablet")."""

    key: str
    kind: str  # "brand" | "generic"
    name: str  # what goes in the prescription line's medicine field
    form: str
    components: tuple[Component, ...]
    maker: str = ""
    nlem: bool = False
    hsn: str = ""
    gst_rate: int | None = None
    source: str = ""
    verified: bool = False
    _tokens: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def strength(self) -> str:
        """The strength as written on the line ("500 mg + 125 mg"); blank when too long for the field."""
        text = " + ".join(c.strength for c in self.components)
        return text if len(text) <= STRENGTH_MAX else ""

    @property
    def generic(self) -> str:
        """The molecules with their strengths: "Amoxicillin 500 mg + Clavulanic acid 125 mg"."""
        return " + ".join(f"{_capital(c.inn)} {c.strength}".strip() for c in self.components)

    @property
    def label(self) -> str:
        if self.kind == "brand" or normalize(self.name) != normalize(" ".join(self.inns)):
            return f"{self.name} — {self.generic}, {self.form}"  # a brand, or a combination's own name
        return f"{self.generic}, {self.form}"

    @property
    def route(self) -> str:
        form = self.form.lower()
        for word, route in _ROUTES:
            if word in form:
                return route
        return "Oral"

    @property
    def inns(self) -> tuple[str, ...]:
        return tuple(c.inn for c in self.components)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def normalize(text: str) -> str:
    """Lower case, punctuation to spaces (keeping decimal points): "Taxim-O 200" -> "taxim o 200"."""
    value = (text or "").lower().replace("+", " ")
    value = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", value)
    value = re.sub(r"[^0-9a-z.%]+", " ", value)
    return " ".join(value.split())


# --- loading -------------------------------------------------------------------------------------


@dataclass
class _Index:
    data: dict[str, Any]
    molecules: dict[str, Molecule]
    products: list[Product]
    name_norms: list[str]
    name_tokens: list[str]
    name_postings: dict[str, set[int]]
    all_tokens: list[str]
    all_postings: dict[str, set[int]]
    brands_by_name: dict[str, list[int]]
    phrases: list[tuple[str, tuple[str, ...]]]


def _molecule(entry: dict[str, Any]) -> Molecule:
    paed = entry.get("paediatric_dose")
    return Molecule(
        inn=entry["inn"],
        atc=entry["atc"],
        allergy_classes=frozenset(entry.get("allergy_classes", [])),
        therapeutic_class=entry.get("class", ""),
        synonyms=tuple(entry.get("synonyms", [])),
        forms=tuple((f["form"], tuple(f["strengths"])) for f in entry.get("forms", [])),
        nlem=bool(entry.get("nlem")),
        hsn=entry.get("hsn", ""),
        gst_rate=entry.get("gst_rate"),
        source=entry.get("source", ""),
        verified=bool(entry.get("verified")),
        paediatric_dose=PaediatricDose(
            mg_per_kg=float(paed["mg_per_kg"]),
            per=paed["per"],
            doses_per_day=int(paed["doses_per_day"]),
            max_mg_per_dose=paed.get("max_mg_per_dose"),
            max_mg_per_day=paed.get("max_mg_per_day"),
            source=paed.get("source", ""),
            verified=bool(paed.get("verified")),
        )
        if paed
        else None,
    )


def _products(data: dict[str, Any], molecules: dict[str, Molecule]) -> list[Product]:
    products: list[Product] = []
    for mol in molecules.values():
        for form, strengths in mol.forms:
            for strength in strengths:
                products.append(
                    Product(
                        key=f"generic:{mol.inn}:{form}:{strength}".lower(),
                        kind="generic",
                        name=mol.name,
                        form=form,
                        components=(Component(mol.inn, strength),),
                        nlem=mol.nlem,
                        hsn=mol.hsn,
                        gst_rate=mol.gst_rate,
                        source=mol.source,
                        verified=mol.verified,
                    )
                )
    for combo in data.get("combinations", []):
        components = tuple(Component(c["inn"], c["strength"]) for c in combo["components"])
        products.append(
            Product(
                key=f"generic:{combo['name']}:{combo['form']}:{'+'.join(c.strength for c in components)}".lower(),
                kind="generic",
                name=combo["name"],
                form=combo["form"],
                components=components,
                nlem=bool(combo.get("nlem")),
                hsn=combo.get("hsn", ""),
                gst_rate=combo.get("gst_rate"),
                source=combo.get("source", ""),
                verified=bool(combo.get("verified")),
            )
        )
    for brand in data.get("brands", []):
        products.append(
            Product(
                key=f"brand:{normalize(brand['name']).replace(' ', '-')}",
                kind="brand",
                name=brand["name"],
                form=brand["form"],
                components=tuple(Component(c["inn"], c["strength"]) for c in brand["components"]),
                maker=brand.get("maker", ""),
                hsn=brand.get("hsn", ""),
                gst_rate=brand.get("gst_rate"),
                source=brand.get("source", ""),
                verified=bool(brand.get("verified")),
            )
        )
    return products


def _postings(token_lists: Iterable[tuple[int, Iterable[str]]]) -> tuple[list[str], dict[str, set[int]]]:
    postings: dict[str, set[int]] = {}
    for index, tokens in token_lists:
        for token in tokens:
            postings.setdefault(token, set()).add(index)
    return sorted(postings), postings


@cache
def _index() -> _Index:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    molecules = {entry["inn"]: _molecule(entry) for entry in data["molecules"]}
    products = _products(data, molecules)
    name_norms = [normalize(p.name) for p in products]

    def generic_words(product: Product) -> list[str]:
        words: list[str] = []
        for component in product.components:
            mol = molecules.get(component.inn)
            words += normalize(component.inn).split() + normalize(component.strength).split()
            for synonym in mol.synonyms if mol else ():
                words += normalize(synonym).split()
        return words + normalize(product.form).split()

    name_tokens, name_postings = _postings(
        (i, name_norms[i].split() + normalize(p.strength).split()) for i, p in enumerate(products)
    )
    all_tokens, all_postings = _postings((i, name_norms[i].split() + generic_words(p)) for i, p in enumerate(products))
    brands_by_name: dict[str, list[int]] = {}
    for i, product in enumerate(products):
        if product.kind == "brand":
            brands_by_name.setdefault(name_norms[i], []).append(i)
    phrases: list[tuple[str, tuple[str, ...]]] = [(name, inns) for name, inns in _COMBINATION_NAMES.items()]
    for mol in molecules.values():
        for phrase in (mol.inn, *mol.synonyms):
            phrases.append((normalize(phrase), (mol.inn,)))
    phrases.sort(key=lambda item: -len(item[0]))  # longest first: "insulin glargine" before "insulin"
    return _Index(
        data=data,
        molecules=molecules,
        products=products,
        name_norms=name_norms,
        name_tokens=name_tokens,
        name_postings=name_postings,
        all_tokens=all_tokens,
        all_postings=all_postings,
        brands_by_name=brands_by_name,
        phrases=phrases,
    )


def data() -> dict[str, Any]:
    """The parsed data file (for its integrity test and the README's figures)."""
    return _index().data


def molecules() -> dict[str, Molecule]:
    return dict(_index().molecules)


def products() -> list[Product]:
    return list(_index().products)


@cache
def _products_by_key() -> dict[str, Product]:
    return {product.key: product for product in _index().products}


def product(key: str) -> Product | None:
    """The reference product with this key ("brand:dolo-650"), or None."""
    return _products_by_key().get(key)


def molecule(inn: str) -> Molecule | None:
    return _index().molecules.get((inn or "").strip().lower())


def allergy_class_labels() -> dict[str, str]:
    """Allergy class key -> label ("penicillins" -> "Penicillins"), the vocabulary of Molecule.allergy_classes."""
    return dict(_index().data["allergy_classes"])


# --- search --------------------------------------------------------------------------------------


def _prefix_hits(tokens: list[str], postings: dict[str, set[int]], prefix: str) -> set[int]:
    hits: set[int] = set()
    start = bisect.bisect_left(tokens, prefix)
    for token in tokens[start:]:
        if not token.startswith(prefix):
            break
        hits |= postings[token]
    return hits


def _distance(a: str, b: str, bound: int) -> int:
    """Optimal string alignment distance (a transposition counts as one edit), capped at bound + 1."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    return previous[-1]


def _typo_bound(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def _prefix_distance(word: str, token: str, bound: int) -> int:
    """How far `word` is from being a prefix of `token` (optimal string alignment: a swap of two
    letters is one edit), capped at bound + 1. One table against the token's start, read at every
    prefix length within `bound` of the word's."""
    head = token[: len(word) + bound]
    previous2: list[int] = []
    previous = list(range(len(head) + 1))
    for i, ca in enumerate(word, 1):
        current = [i] + [0] * len(head)
        for j, cb in enumerate(head, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == head[j - 2] and word[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    low = max(len(word) - bound, 0)
    return min(previous[low:] or [bound + 1])


@cache
def _fuzzy_hits_cached(word: str, which: str) -> frozenset[int]:
    index = _index()
    tokens, postings = (
        (index.name_tokens, index.name_postings) if which == "name" else (index.all_tokens, index.all_postings)
    )
    bound = _typo_bound(word)
    hits: set[int] = set()
    start = bisect.bisect_left(tokens, word[0])
    for token in tokens[start:]:
        if token[0] != word[0]:
            break
        if len(token) >= len(word) - bound and _prefix_distance(word, token, bound) <= bound:
            hits |= postings[token]
    return frozenset(hits)


def _fuzzy_hits(which: str, word: str) -> set[int]:
    """Products with a token that `word` is a prefix of, give or take a typo or two ("paracetmol",
    "azithromicin"). Only tokens starting with the same letter are tried: first letters are rarely
    wrong. Remembered per word: autocomplete asks for the same words again and again."""
    if _typo_bound(word) == 0 or word.isdigit():
        return set()
    return set(_fuzzy_hits_cached(word, which))


# Generic products list tablets and capsules first: what most adult prescriptions are.
_FORM_ORDER = ("tablet", "capsule", "dispersible tablet", "oral suspension", "syrup", "oral solution", "drops")


def _strength_number(product: Product) -> float:
    match = re.match(r"\d+(?:\.\d+)?", product.components[0].strength if product.components else "")
    return float(match.group()) if match else 0.0


def _natural(text: str) -> tuple[tuple[int, float, str], ...]:
    """Sort key reading numbers as numbers: "Dolo 250" < "Dolo 650" < "Dolo Drops"; "Augmentin 375" < "... 1000"."""
    return tuple(
        (0, float(part), "") if re.fullmatch(r"\d+(?:\.\d+)?", part) else (1, 0.0, part) for part in text.split()
    )


def _order(product: Product, name_norm: str) -> tuple[Any, ...]:
    if product.kind == "brand":
        return (_natural(name_norm), 0, 0.0)
    form = product.form.lower()
    rank = _FORM_ORDER.index(form) if form in _FORM_ORDER else len(_FORM_ORDER)
    return ((), rank, _strength_number(product))


def search(text: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Brands and generic products matching `text`: names starting with it first, then names with
    words starting with its words ("650 dolo"), then products whose molecules match ("amoxi" finds
    Mox 500), then the same allowing typos. Generic products before brands within each group."""
    query = normalize(text)[:60]
    words = query.split()
    if len(query) < 2 or not words:
        return []
    index = _index()

    def every(hit_sets: list[set[int]]) -> set[int]:
        return set.intersection(*hit_sets) if hit_sets else set()

    tiers: list[set[int]] = []
    by_name = every([_prefix_hits(index.name_tokens, index.name_postings, w) for w in words])
    starts = {i for i in by_name if index.name_norms[i].startswith(query)}
    tiers += [starts, by_name - starts]
    by_any = every([_prefix_hits(index.all_tokens, index.all_postings, w) for w in words])
    tiers.append(by_any - by_name)
    found = set().union(*tiers)
    if len(found) < limit:
        fuzzy_name = every(
            [_prefix_hits(index.name_tokens, index.name_postings, w) | _fuzzy_hits("name", w) for w in words]
        )
        tiers.append(fuzzy_name - found)
        found |= fuzzy_name
        fuzzy_any = every(
            [_prefix_hits(index.all_tokens, index.all_postings, w) | _fuzzy_hits("all", w) for w in words]
        )
        tiers.append(fuzzy_any - found)
    results: list[Product] = []
    for tier in tiers:
        ordered = sorted(
            tier,
            key=lambda i: (
                index.name_norms[i] != query,
                index.products[i].kind != "generic",
                len(index.products[i].components),
                index.name_norms[i].split()[0],
                _order(index.products[i], index.name_norms[i]),
                index.products[i].form,
            ),
        )
        results += [index.products[i] for i in ordered]
        if len(results) >= limit:
            break
    return results[:limit]


# --- resolving a prescription line ----------------------------------------------------------------


def brand_named(name: str) -> Product | None:
    """The reference brand with exactly this name (case and punctuation aside), or None."""
    index = _index()
    found = index.brands_by_name.get(normalize(name))
    return index.products[found[0]] if found else None


def _strip_dosage_words(words: list[str]) -> list[str]:
    while words and words[0] in _DOSAGE_WORDS:
        words = words[1:]
    return words


def _brand_matches(query: str) -> list[int]:
    """Brands the text names: exactly, by a longer text ("Dolo 650 mg tablet"), or by a shorter one
    that is the start of brand names ("Augmentin 625" -> "Augmentin 625 Duo"; "Augmentin" -> all)."""
    index = _index()
    exact = index.brands_by_name.get(query)
    if exact:
        return exact
    words = query.split()
    for cut in range(len(words) - 1, 0, -1):  # the longest brand name the text starts with
        found = index.brands_by_name.get(" ".join(words[:cut]))
        if found:
            return found
    return [i for name, ids in index.brands_by_name.items() if name.startswith(query + " ") for i in ids]


def molecules_for(medicine_text: str) -> list[Molecule]:
    """The molecules of a medicine as typed on a prescription line: a brand ("Augmentin 625" ->
    [amoxicillin, clavulanic acid]; "Dolo 650" -> [paracetamol]), a generic name or combination
    ("Amoxicillin + Clavulanic acid", "Cotrimoxazole", "Paracetmol" with a typo). [] when unknown.
    Brand and generic together ("Dolo 650 (paracetamol)") give the union, in order, without repeats."""
    index = _index()
    words = _strip_dosage_words(normalize(medicine_text).split())
    if not words:
        return []
    query = " ".join(words)
    inns: list[str] = []
    for i in _brand_matches(query):
        inns += index.products[i].inns
    padded = f" {query} "
    named: list[tuple[int, tuple[str, ...]]] = []
    for phrase, phrase_inns in index.phrases:  # longest first, each blanked once found
        at = padded.find(f" {phrase} ")
        if at >= 0:
            named.append((at, phrase_inns))
            padded = padded[:at] + " " + "_" * len(phrase) + " " + padded[at + len(phrase) + 2 :]
    for _, phrase_inns in sorted(named):
        inns += phrase_inns
    if not inns:
        inns = _fuzzy_generic(words)
    seen: set[str] = set()
    ordered = [inn for inn in inns if not (inn in seen or seen.add(inn))]  # type: ignore[func-returns-value]
    return [index.molecules[inn] for inn in ordered if inn in index.molecules]


def _fuzzy_generic(words: list[str]) -> list[str]:
    """Single-word molecule names and synonyms within a typo of a word of the text ("amoxycilin")."""
    index = _index()
    found: list[str] = []
    for word in words:
        bound = _typo_bound(word)
        if bound == 0 or len(word) < 5 or word[:1].isdigit():
            continue
        for phrase, inns in index.phrases:
            if " " not in phrase and phrase[:1] == word[:1] and _distance(word, phrase, bound) <= bound:
                found += inns
                break
    return found
