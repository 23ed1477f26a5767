"""Search keys for patients: a phonetic name key, its word prefixes, and the phone digits.

`name_key` is a consonant skeleton of each word of the name, built so that the common ways of
spelling Indian names in Latin script meet:

- aspirates lose their h (bh, dh, gh, jh, kh, th, ph -> b, d, g, j, k, t, f); sh, s and z meet
  (Zubair/Subair); ch and chh meet; ksh and x become ks; q and ck become k; v and w become b
  (Bikash/Vikash, Biswas/Viswas, Debashish/Devashish: Bengali and Odia write b for v);
- vowels (and y after the first letter) carry the most spelling noise (Mohammed/Muhammad,
  Poonam/Punam, Kumar/Kumaar, Choudhary/Chaudhari) and are dropped after the first letter; a
  word that starts with a vowel keeps one of three classes (a; e/i; o/u) as its first letter, and
  a word that starts with ai, ayy or aye counts as starting with i (Iyer/Aiyar/Ayyar,
  Iyengar/Ayyangar, Aishwarya/Ishwarya, Ayesha/Aisha);
- w after a vowel and before a consonant is a vowel (Chowdhury sounds like Chaudhury);
- h is kept at the start of a word and after a vowel when a vowel or the end follows (Mohan,
  Shah); elsewhere it goes (Rehman/Rahman);
- doubled letters collapse (Aggarwal/Agarwal); Md and Mohd stand for Mohammed.

So Mohammed, Muhammad and Mohammad all become "mhmd"; Lakshmi and Laxmi "lksm"; Srinivas,
Shrinivas and Sreenivas "srnbs"; Choudhary, Chaudhari and Chowdhury "cdr". Words in other
scripts are kept as they are.

How the search uses the keys (patients.selectors.patient_search):
1. A query is read several ways (`query_forms`): as typed without a leading honorific ("Dr",
   "Smt"), with two-letter words as initials ("SK Reddy" as "S K Reddy"), with neighbouring words
   joined ("Desh Pande" as "Deshpande"), and with the honorific kept.
2. `search_words` holds every prefix of two letters or more of every word key ("mhmd" -> mh,
   mhm, mhmd), every whole word key ("mhmd$") and the first three and four letters of every word
   as spelled ("=moh", "=moha"). A reading matches a patient when each of its word keys is one of
   the prefixes, so typing "moh", "Muhammad" or "Mohammed Ch" finds Mohammed Choudhary. A GIN
   index answers that containment test fast even for common names (exact, no recheck, stops at
   the candidate cap). The first letter of every word key is stored too ("m"): alone it would be
   in a fifth of all rows, so a reading of one-letter words only is checked row by row, but
   next to a longer word ("Ravi K", or Rao's key "r" in "Venkatesh Rao") the index intersects
   them, instead of fetching every Venkatesh from the table to look for an r.
3. At most SEARCH_CANDIDATES candidates are taken, those whose words start with the letters as
   typed first (the spelled prefixes), so "Sha" keeps every Shailesh however many Sushmas match
   "s". They are ranked by how many typed words start a word of the name, then by pg_trgm word
   similarity of the keys and of the spelling.
4. When fewer than FUZZY_BELOW match, the typo fallback adds similar names: each query word may
   also be any whole word of the clinic's vocabulary (`PatientNameWord`) within one edit of its
   key (`deletes` indexes each word with one letter left out), ranked by `typo_distance`.

The services recompute all keys on every create and update (`patient_search_keys`); after the
rules here change, a migration (or `manage.py patients_search_reindex`) recomputes every row. The
benchmark loads its rows with the same functions.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

VOWELS = frozenset("aeiouy")
_INITIAL_VOWEL_CLASS = {"a": "a", "e": "i", "i": "i", "o": "u", "u": "u"}
_ASPIRATED = frozenset("bcdgjktp")
_ABBREVIATIONS = {"md": "mohammed", "mohd": "mohammed", "mhd": "mohammed"}
WORD_MAX = 40
NAME_KEY_MAX = 220


def _without_accents(text: str) -> str:
    """Latin letters lose their accents (José -> Jose); other scripts keep every mark, because an
    Indic vowel sign or virama is part of the letter (शर्मा is not शरम), and come back composed."""
    out: list[str] = []
    base_is_latin = False
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Mc"):
            if base_is_latin:
                continue
        else:
            base_is_latin = ch.isascii() or "LATIN" in unicodedata.name(ch, "")
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _fold(text: str) -> str:
    """Lowercase Latin letters without accents; letters of other scripts are kept as they are."""
    return _without_accents(text.casefold())


def _words(text: str) -> list[str]:
    """Runs of letters with their marks (vowel signs and viramas belong to Indic words); digits,
    punctuation and spaces separate words."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        kind = unicodedata.category(ch)[0]
        if kind == "L" or (kind == "M" and current):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def word_key(word: str) -> str:
    """The phonetic key of one lowercase word."""
    if not word.isascii():
        return word[:WORD_MAX]  # another script: the Latin spelling rules do not apply
    w = _ABBREVIATIONS.get(word, word)
    if w.startswith(("ai", "ayy", "aye")):
        w = "i" + w[2:]  # Aiyar/Iyer, Ayyangar/Iyengar, Aishwarya/Ishwarya, Ayesha/Aisha
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
                out.append("b" if ch in "vw" else ch)
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
            ch = "b"
        elif ch == "v":
            ch = "b"
        if out and out[-1] == ch:
            continue  # Aggarwal -> agarval -> agrvl
        out.append(ch)
    return "".join(out)[:WORD_MAX]


def name_words(text: str) -> list[str]:
    return _words(_fold(text or ""))


def name_word_keys(*parts: str) -> list[str]:
    keys = [word_key(w) for part in parts for w in name_words(part)]
    return [k for k in keys if k]


def name_key(*parts: str) -> str:
    """The phonetic key of a name (given, family, ...): word keys in order, separated by spaces."""
    return " ".join(name_word_keys(*parts))[:NAME_KEY_MAX].strip()


# Typed words shorter than this are being typed, not mistyped (the typo fallback keeps them), and
# are looked up in the index only next to a longer word.
MIN_INDEXED_PREFIX = 2
# Spelled prefixes are stored with this mark in front, so they never meet a key prefix.
SPELLED_MARK = "="
SPELLED_PREFIX_LENGTHS = (3, 4)
# Whole key words are stored with this mark after them: the typo fallback looks up whole words.
WHOLE_MARK = "$"
# The first letters of two neighbouring words as spelled ("^sk" for Sunil Kumar): initials.
INITIALS_MARK = "^"


def search_words(key: str, spelled: str = "") -> list[str]:
    """Every prefix (from one letter on) of every word of a name key, every whole
    word of it ("slsh$"), and the first three and four letters of every word as spelled ("=sha",
    "=shai"): what the index looks up."""
    out: list[str] = []
    seen: set[str] = set()
    for word in key.split():
        if whole_word(word) not in seen:
            seen.add(whole_word(word))
            out.append(whole_word(word))
        for end in range(1, len(word) + 1):
            prefix = word[:end]
            if prefix not in seen:
                seen.add(prefix)
                out.append(prefix)
    words = spelled.split()
    for first, second in itertools.pairwise(words):
        marked = initials_marker(first[0] + second[0])
        if marked and marked not in seen:
            seen.add(marked)
            out.append(marked)
    for word in words:
        for length in SPELLED_PREFIX_LENGTHS:
            if len(word) >= length:
                marked = SPELLED_MARK + word[:length]
                if marked not in seen:
                    seen.add(marked)
                    out.append(marked)
    return out


def initials_marker(letters: str) -> str:
    """The stored mark for two initials typed together ("sk"), or "" for other scripts."""
    return INITIALS_MARK + letters if len(letters) == 2 and letters.isascii() and letters.isalpha() else ""


def initials_markers(words: list[str]) -> list[str]:
    """Marks for every two neighbouring one-letter words of a reading ("s k reddy" -> "^sk")."""
    return [initials_marker(a + b) for a, b in itertools.pairwise(words) if len(a) == 1 and len(b) == 1]


def whole_word(word: str) -> str:
    return word + WHOLE_MARK


def spelled_marker(word: str) -> str:
    """The stored spelled prefix a typed word (of three letters or more) is looked up by."""
    return SPELLED_MARK + word[: SPELLED_PREFIX_LENGTHS[-1]] if len(word) >= SPELLED_PREFIX_LENGTHS[0] else ""


def spelling(*parts: str) -> str:
    """The name as typed, folded to lowercase words: what the final ranking compares spellings on."""
    return " ".join(w for part in parts for w in name_words(part))


# --- queries ------------------------------------------------------------------------------------

# Words people put before a name that are not part of it (only leading ones are dropped, and never
# the last word: "Kumari" and "Sri" are names too).
HONORIFICS = frozenset(
    "mr mrs ms miss mister dr doctor smt shrimati srimati shri sri shree sushri kumari km kum prof master baby".split()
)
MAX_QUERY_WORDS = 5
_INITIALS_MAX = 3


@dataclass(frozen=True)
class QueryForm:
    """One reading of a query: its word keys, and the spelled words each with the number of typed
    words it stands for (a joined compound stands for two)."""

    keys: tuple[str, ...]
    spelled: tuple[tuple[str, int], ...]

    @property
    def key(self) -> str:
        return " ".join(self.keys)


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The words of a query as typed (case kept, accents dropped): without leading honorifics, and
    all of them."""
    typed = _words(_without_accents(text or ""))
    words = typed
    while len(words) > 1 and words[0].casefold() in HONORIFICS:
        words = words[1:]
    return words[:MAX_QUERY_WORDS], typed[:MAX_QUERY_WORDS]


def _looks_like_initials(token: str, all_upper: bool) -> bool:
    """ "SK", "JP", "OP", "ak": any two letters; three typed in capitals (in a query that is not all
    capitals) or with no vowel ("SKR")."""
    if not (2 <= len(token) <= _INITIALS_MAX and token.isascii() and token.isalpha()):
        return False
    if len(token) == 2:
        return True
    return (token.isupper() and not all_upper) or not any(ch in "aeiou" for ch in token.lower())


def query_forms(text: str) -> list[QueryForm]:
    """The readings of a name query: as typed (without a leading "Dr", "Smt", ...) first, then with
    joined initials split ("SK Reddy" as "S K Reddy"), with each pair of neighbouring words joined
    ("Desh Pande" as "Deshpande") and, last, with the honorific kept (a patient called "Kumari Devi")."""
    tokens, typed = _tokens(text)
    words = [t.casefold() for t in tokens]
    if not words:
        return []

    def form(parts: list[tuple[str, int]]) -> QueryForm | None:
        keys = tuple(k for k in (word_key(w) for w, _ in parts) if k)
        return QueryForm(keys=keys, spelled=tuple(parts)) if keys else None

    forms = [form([(w, 1) for w in words])]
    all_upper = all(t.isupper() for t in tokens)
    initials = [_looks_like_initials(t, all_upper) for t in tokens]
    if any(initials) and not all(initials):
        split: list[tuple[str, int]] = []
        for word, is_initials in zip(words, initials, strict=True):
            split.extend([(letter, 1) for letter in word] if is_initials else [(word, 1)])
        forms.append(form(split))
    for i in range(len(words) - 1):
        if len(words[i]) >= 2 and len(words[i + 1]) >= 2:
            joined = [*[(w, 1) for w in words[:i]], (words[i] + words[i + 1], 2), *[(w, 1) for w in words[i + 2 :]]]
            forms.append(form(joined))
    if typed != tokens:
        forms.append(form([(t.casefold(), 1) for t in typed]))
    out: list[QueryForm] = []
    for candidate in forms:
        if candidate is not None and candidate.keys not in [f.keys for f in out]:
            out.append(candidate)
    return out


# --- typos --------------------------------------------------------------------------------------


def deletions(word: str) -> list[str]:
    """The word with one letter left out, each way (for the vocabulary's one-edit index)."""
    return sorted({word[:i] + word[i + 1 :] for i in range(len(word))} - {""})


def typed_keys(word: str) -> list[str]:
    """The keys a typed word may have meant: its own, and, when it has an x (which the key spells
    "ks", two letters), the key without that x: a slip onto x is one edit of the spelling."""
    keys = [word_key(word)]
    if "x" in word and word.isascii():
        for i in (i for i, ch in enumerate(word) if ch == "x"):
            keys.append(word_key(word[:i] + word[i + 1 :]))
    return [k for k in dict.fromkeys(keys) if k]


def one_edit_probes(word: str) -> list[str]:
    """What to look up to find every vocabulary word within one edit of `word`: the word and its
    deletions, matched against the vocabulary's words and their deletions."""
    return [word, *deletions(word)]


def within_one_edit(a: str, b: str) -> bool:
    """Equal, or one letter substituted, inserted, deleted, or two neighbours swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_AT = {ch: (r, c) for r, row in enumerate(_KEY_ROWS) for c, ch in enumerate(row)}


def _neighbours(a: str, b: str) -> bool:
    """Keys next to each other on a QWERTY keyboard (a slip of the finger)."""
    if a not in _KEY_AT or b not in _KEY_AT:
        return False
    (ra, ca), (rb, cb) = _KEY_AT[a], _KEY_AT[b]
    # Staggered rows: a key touches columns c and c+1 of the row above, c-1 and c of the row below.
    if ra == rb:
        return abs(ca - cb) == 1
    return (rb == ra - 1 and cb in (ca, ca + 1)) or (rb == ra + 1 and cb in (ca - 1, ca))


def typo_cost(typed: str, word: str) -> float:
    """How far a typed word is from a word of a name, for ranking corrections: 0 when the name word
    starts with it, 0.5 for a slip to a neighbouring key or two swapped letters, 1 for another single
    edit (of the whole word, or of its first letters while the name is still being typed), else 2."""
    if word.startswith(typed):
        return 0.0
    for target in (word, word[: len(typed)]):
        if len(target) == len(typed):
            diff = [i for i in range(len(typed)) if typed[i] != target[i]]
            if len(diff) == 1:
                return 0.5 if _neighbours(typed[diff[0]], target[diff[0]]) else 1.0
            if within_one_edit(typed, target):
                return 0.5  # two neighbours swapped
        elif within_one_edit(typed, target):
            return 1.0
    return 2.0


def typo_distance(typed: list[str], name: list[str]) -> float:
    """The sum, over the typed words, of the cost of the closest word of the name."""
    return sum(min((typo_cost(t, w) for w in name), default=2.0) for t in typed)


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
