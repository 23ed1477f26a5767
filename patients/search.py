"""Search keys for patients: a phonetic name key, its word prefixes, and the phone digits.

`name_key` is a consonant skeleton of each word of the name, built so that the common ways of
spelling Indian names in Latin script meet:

- aspirates lose their h (bh, dh, gh, jh, kh, th, ph -> b, d, g, j, k, t, f); sh, s and z meet
  (Zubair/Subair); ch and chh meet; ksh and x become ks; q and ck become k; w becomes v;
- vowels (and y after the first letter) carry the most spelling noise (Mohammed/Muhammad,
  Poonam/Punam, Kumar/Kumaar, Choudhary/Chaudhari) and are dropped after the first letter; a
  word that starts with a vowel keeps one of three classes (a; e/i; o/u) as its first letter;
- w after a vowel and before a consonant is a vowel (Chowdhury sounds like Chaudhury);
- h is kept at the start of a word and after a vowel when a vowel or the end follows (Mohan,
  Shah); elsewhere it goes (Rehman/Rahman);
- doubled letters collapse (Aggarwal/Agarwal); Md and Mohd stand for Mohammed.

So Mohammed, Muhammad and Mohammad all become "mhmd"; Lakshmi and Laxmi "lksm"; Srinivas,
Shrinivas and Sreenivas "srnvs"; Choudhary, Chaudhari and Chowdhury "cdr". Words in other
scripts are kept as they are.

How the search uses the keys (patients.selectors.patient_search):
1. `search_words` holds every prefix of two letters or more of every word key ("mhmd" -> mh,
   mhm, mhmd). A query matches a patient when each of its word keys is one of them, so typing
   "moh", "Muhammad" or "Mohammed Ch" finds Mohammed Choudhary. A GIN index answers that
   containment test fast even for common names (exact, no recheck, stops at the candidate cap).
   One-letter prefixes would be in a fifth of all rows: a one-letter query word ("Ravi K",
   or Rao's key "r") is checked on the rows the other words found instead of through the index.
2. The candidates (at most SEARCH_CANDIDATES of them) are ranked by pg_trgm word similarity
   of the keys and then of the spelling as typed, so exact spellings come first.
3. When a query finds fewer than a page of candidates (a typo that changes a consonant, or a
   joined name), similar names are added from the trigram index on `name_key`.

The services recompute all keys on every create and update (`patient_search_keys`); the
benchmark loads its rows with the same functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

VOWELS = frozenset("aeiouy")
_INITIAL_VOWEL_CLASS = {"a": "a", "e": "i", "i": "i", "o": "u", "u": "u"}
_ASPIRATED = frozenset("bcdgjktp")
_ABBREVIATIONS = {"md": "mohammed", "mohd": "mohammed", "mhd": "mohammed"}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
WORD_MAX = 40
NAME_KEY_MAX = 220


def _fold(text: str) -> str:
    """Lowercase Latin letters without accents; letters of other scripts are kept as they are."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def word_key(word: str) -> str:
    """The phonetic key of one lowercase word."""
    if not word.isascii():
        return word[:WORD_MAX]  # another script: the Latin spelling rules do not apply
    w = _ABBREVIATIONS.get(word, word)
    # Multi-letter spellings first (order matters: ksh before sh, chh before ch).
    w = w.replace("ksh", "ks").replace("x", "ks").replace("chh", "c").replace("ch", "c")
    w = w.replace("sh", "s").replace("ph", "f").replace("ck", "k").replace("q", "k").replace("z", "s")
    out: list[str] = []
    n = len(w)
    for i, ch in enumerate(w):
        prev = w[i - 1] if i else ""
        nxt = w[i + 1] if i + 1 < n else ""
        if i == 0:
            if ch in _INITIAL_VOWEL_CLASS:
                out.append(_INITIAL_VOWEL_CLASS[ch])
            else:
                out.append("v" if ch == "w" else ch)
            continue
        if ch in VOWELS:
            continue
        if ch == "h":
            if prev in VOWELS and (nxt == "" or nxt in VOWELS):
                out.append("h")  # Mohan, Mohammed, Shah
            continue  # aspirates (bh, th, ...) and h before a consonant (Rehman)
        if ch == "w":
            if prev in VOWELS and nxt != "" and nxt not in VOWELS:
                continue  # Chowdhury
            ch = "v"
        if out and out[-1] == ch:
            continue  # Aggarwal -> agarval -> agrvl
        out.append(ch)
    return "".join(out)[:WORD_MAX]


def name_words(text: str) -> list[str]:
    return _WORD_RE.findall(_fold(text or ""))


def name_word_keys(*parts: str) -> list[str]:
    keys = [word_key(w) for part in parts for w in name_words(part)]
    return [k for k in keys if k]


def name_key(*parts: str) -> str:
    """The phonetic key of a name (given, family, ...): word keys in order, separated by spaces."""
    return " ".join(name_word_keys(*parts))[:NAME_KEY_MAX].strip()


MIN_INDEXED_PREFIX = 2


def search_words(key: str) -> list[str]:
    """Every prefix (of MIN_INDEXED_PREFIX letters or more) of every word of a name key."""
    out: list[str] = []
    seen: set[str] = set()
    for word in key.split():
        for end in range(MIN_INDEXED_PREFIX, len(word) + 1):
            prefix = word[:end]
            if prefix not in seen:
                seen.add(prefix)
                out.append(prefix)
    return out


def spelling(*parts: str) -> str:
    """The name as typed, folded to lowercase words: what the final ranking compares spellings on."""
    return " ".join(w for part in parts for w in name_words(part))


# --- phones -------------------------------------------------------------------------------------

DEFAULT_REGION = "IN"
PHONE_DIGITS_MAX = 40


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def national_digits(e164: str) -> str:
    """The national significant number of a stored E.164 number (+919845012345 -> 9845012345)."""
    if not e164:
        return ""
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return digits(e164)


def phone_digits_key(numbers: Iterable[str]) -> str:
    """Space-separated national numbers of the patient's phones (patient, WhatsApp, guardian).

    Searching by any run of digits (the last five, the middle, the whole number) is a LIKE on
    this column, answered by its trigram index."""
    out: list[str] = []
    for number in numbers:
        national = national_digits(number)
        if national and national not in out and len(" ".join([*out, national])) <= PHONE_DIGITS_MAX:
            out.append(national)
    return " ".join(out)


def parse_full_number(query: str) -> str | None:
    """E.164 form of a complete phone number typed in any common way, else None."""
    raw = digits(query)
    if len(raw) < 10:
        return None
    candidates = [query] if query.strip().startswith("+") else [query, "+" + raw]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None
