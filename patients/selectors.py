"""Reads about patients: who may see whom, the search, duplicate candidates and the chart timeline.

Location scoping: staff restricted to some locations see a patient registered at one of them or
with a visit at one of them; unrestricted staff see every patient of the clinic. A patient they
may not see answers 404, like a patient of another clinic.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_location_ids
from audit.access_log import reads_of
from docos.ids import parse_uuid
from patients import search
from patients.access import patient_visibility_sql, scope_patients
from patients.models import Patient, PatientImport, Sex

# Name searches rank at most this many candidates (4 pages of 50): a query that matches more
# people than that is too vague to page through, and capping keeps it fast on any clinic size.
SEARCH_CANDIDATES = 200
# Similar-name suggestions (trigram) are added when the exact search finds fewer than this.
FUZZY_BELOW = 20
FUZZY_LIMIT = 20
MIN_CORRECTED = 3  # letters a typed word needs before the typo fallback offers corrections for it
MIN_PHONE_FRAGMENT = 4
DUPLICATE_NAME_SIMILARITY = 0.5
# Only what the list and the search results show (fetched as values: no model per row).
ROW_FIELDS = (
    "id",
    "mrn",
    "given_name",
    "family_name",
    "sex",
    "date_of_birth",
    "dob_is_estimated",
    "phone",
    "registered_location_id",
)
_MRN_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*?)\s*-?\s*(\d{1,12})$")


@dataclass(frozen=True, slots=True)
class PatientRow:
    """A patient as lists and search results show one: a few columns, the location's name."""

    id: uuid.UUID
    mrn: str
    given_name: str
    family_name: str
    sex: str
    date_of_birth: dt.date | None
    dob_is_estimated: bool
    phone: str
    registered_location_id: uuid.UUID
    location_name: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> PatientRow:
        return cls(**{name: values[name] for name in (*ROW_FIELDS, "location_name")})

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def age_years(self) -> int | None:
        if self.date_of_birth is None:
            return None
        today = timezone.localdate()
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def get_sex_display(self) -> str:
        return str(Sex(self.sex).label) if self.sex in Sex.values else self.sex


def as_rows(values: Iterable[dict[str, Any]]) -> list[PatientRow]:
    return [PatientRow.from_values(v) for v in values]


def _rows_of(patients: QuerySet[Patient]) -> QuerySet[Patient, dict[str, Any]]:
    return patients.values(*ROW_FIELDS, location_name=F("registered_location__name"))


def patient_list(*, user: Any) -> QuerySet[Patient, dict[str, Any]]:
    """Active patients the user may see, most recently registered first (as values for PatientRow)."""
    return _rows_of(
        scope_patients(Patient.objects.filter(is_active=True, restricted_at__isnull=True), user).order_by(
            "-created_at", "-id"
        )
    )


# --- search -------------------------------------------------------------------------------------


@dataclass
class PatientSearch:
    """A search. `queryset` yields values for PatientRow, best match first (use `rows()`): for a name,
    the exact matches and then, when they are few, similar names (typos), so a count, a page and
    the API's `count` all agree. `similar_ids` tells the similar rows apart."""

    query: str
    kind: str  # "all", "name", "phone", "mrn", "abha", "none"
    # Name and phone searches' results are computed at once (at most SEARCH_CANDIDATES + FUZZY_LIMIT
    # rows; a whole phone number finds the few who share it).
    queryset: QuerySet[Patient, dict[str, Any]] | list[dict[str, Any]]
    user: Any = None
    similar_ids: frozenset[uuid.UUID] = frozenset()

    def rows(self, start: int = 0, stop: int = 50) -> list[PatientRow]:
        return as_rows(self.queryset[start:stop])


# A condition as SQL text and its parameters. The name search writes its statements as SQL: built
# from querysets and expressions they took longer to build and compile, per search, than
# PostgreSQL takes to run them (the branch filter's subqueries alone were compiled once per
# statement). Every condition is on the table `patients_patient` unaliased: each subquery scans
# it under its own name, so the branch filter (compiled once, `_visible_sql`) fits every one.
Sql = tuple[str, list[Any]]
_P = "patients_patient"
_ROW_COLUMNS = ", ".join(f"{_P}.{name}" for name in ROW_FIELDS) + ", accounts_location.name AS location_name"
_ROWS_FROM = f"FROM {_P} JOIN accounts_location ON accounts_location.id = {_P}.registered_location_id"


def _fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts (values for PatientRow)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _phone_rows(user: Any, condition: Sql, *, capped: bool) -> list[dict[str, Any]]:
    """Visible patients matching a phone (or MRN) condition, by name; at most SEARCH_CANDIDATES
    when `capped` (a run of digits may match many)."""
    visible = _visible_sql(user)
    if capped:
        where, params = f"{_P}.id = ANY(ARRAY({_capped(visible, condition)}))", [*visible[1], *condition[1]]
    else:
        where, params = _and(visible, condition)
    order = f"{_P}.given_name ASC, {_P}.family_name ASC, {_P}.id ASC"
    return _fetch(f"SELECT {_ROW_COLUMNS} {_ROWS_FROM} WHERE {where} ORDER BY {order}", params)


def _visible_sql(user: Any) -> Sql:
    """The active patients `user` may see (the branch filter, patient_visibility_sql), once per search."""
    visible = patient_visibility_sql(user)
    # Restricted records (privacy: an erasure the law does not allow yet) are never found by search.
    searchable = f"{_P}.is_active AND {_P}.restricted_at IS NULL"
    if visible is None:
        return searchable, []
    return f"{searchable} AND ({visible[0]})", visible[1]


def _and(*parts: Sql) -> Sql:
    parts = tuple(p for p in parts if p[0])
    return " AND ".join(f"({sql})" for sql, _ in parts), [x for _, params in parts for x in params]


def _or(*parts: Sql) -> Sql:
    return " OR ".join(f"({sql})" for sql, _ in parts), [x for _, params in parts for x in params]


def _has_all(words: list[str]) -> Sql:
    """search_words contains every one of `words` (the GIN index)."""
    return f"{_P}.search_words @> %s::varchar(40)[]", [words]


def _word_prefixes(words: Iterable[str]) -> Sql:
    """Each query word starts a word of the name key: one index containment test when a word of two
    letters or more is there (one-letter prefixes are indexed too, and intersected with it in the
    index), else a per-row check (a one-letter prefix alone matches a fifth of all rows: a scan
    that stops at the candidate cap is faster than reading its whole posting list)."""
    words = list(words)
    if any(len(w) >= search.MIN_INDEXED_PREFIX for w in words):
        return _has_all(words)
    return _and(*(_starts_a_word(letter) for letter in words))


def _starts_a_word(letter: str) -> Sql:
    return f"(' ' || {_P}.name_key) LIKE %s", ["% " + connection.ops.prep_for_like_query(letter) + "%"]


def _indexed(form: search.QueryForm) -> bool:
    return any(len(k) >= search.MIN_INDEXED_PREFIX for k in form.keys)


def _capped(visible: Sql, condition: Sql) -> str:
    """The first SEARCH_CANDIDATES visible patients matching `condition` (in no particular order), as
    SQL for `id = ANY(ARRAY(...))`: PostgreSQL runs the capped subquery once and then looks the rows
    up by primary key (`IN (subquery)` may instead hash-join it against the table)."""
    return f"SELECT {_P}.id FROM {_P} WHERE {_and(visible, condition)[0]} LIMIT {SEARCH_CANDIDATES}"


def _exact_candidates(visible: Sql, forms: list[search.QueryForm]) -> Sql:
    """Patients matching any reading of the query (each word starts a word of the name key), at
    most SEARCH_CANDIDATES: first those whose names start with the letters as typed (spelled
    prefixes, so "Sha" keeps every Shailesh among the candidates however many Sushmas there are),
    then the phonetic matches. SQL for `id = ANY(ARRAY(...))`."""
    typed = forms[0]
    readings: list[Sql] = []
    for form in forms:
        initials = [m for m in search.initials_markers([word for word, _ in form.spelled]) if m]
        if initials:
            # "S K Reddy": the initials are indexed as a pair, the single letters checked per row.
            readings.append(_and(_has_all(initials), _word_prefixes(form.keys)))
        elif form is typed or _indexed(form):
            readings.append(_word_prefixes(form.keys))
    matches = _or(*readings)
    markers = [search.spelled_marker(word) for word, _ in typed.spelled if len(word) >= 3]
    if not markers:
        return _capped(visible, matches), [*visible[1], *matches[1]]
    # Shorter words' keys are looked up in the index with the marks (every prefix of a word key,
    # down to its first letter, is stored): "Anil K" is one index intersection, "=anil" and "k".
    short = [key for key in (search.word_key(word) for word, _ in typed.spelled if len(word) < 3) if key]
    spelled = _has_all(markers + short)
    rest = _and(matches, (f"NOT ({spelled[0]})", spelled[1]))
    sql = f"({_capped(visible, spelled)}) UNION ALL ({_capped(visible, rest)}) LIMIT {SEARCH_CANDIDATES}"
    return sql, [*visible[1], *spelled[1], *visible[1], *rest[1]]


# The name as spelled, lowercase, one space before every word: " mohammed choudhary".
_SPACED_NAME = f"(' ' || regexp_replace(lower({_P}.given_name || ' ' || {_P}.family_name), '[^[:alnum:]]+', ' ', 'g'))"


def _greatest(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "GREATEST(" + ", ".join(parts) + ")"


def _prefix_hits(forms: list[search.QueryForm]) -> Sql:
    """How many typed words start a word of the name as spelled (the best reading's count): names
    that really start with the letters typed come first."""
    sums: list[str] = []
    params: list[Any] = []
    for form in forms:
        hits = []
        for word, weight in form.spelled:
            hits.append(f"CASE WHEN {_SPACED_NAME} LIKE %s THEN {int(weight)} ELSE 0 END")
            params.append("% " + connection.ops.prep_for_like_query(word) + "%")
        sums.append("(" + " + ".join(hits) + ")")
    return _greatest(sums), params


def _ranked(candidates: Sql, forms: list[search.QueryForm]) -> Sql:
    """The candidates' rows, best first: names that start with the letters typed, then the closest
    keys (trigram word similarity of any reading), then the closest spellings."""
    hits, hit_params = _prefix_hits(forms)
    key_similarity = _greatest([f"word_similarity(%s, {_P}.name_key)"] * len(forms))
    spelling_similarity = f"word_similarity(%s, lower({_P}.given_name || ' ' || {_P}.family_name))"
    sql = (
        f"SELECT {_ROW_COLUMNS} {_ROWS_FROM} WHERE {_P}.id = ANY(ARRAY({candidates[0]})) "
        f"ORDER BY ({hits}) DESC, ({key_similarity}) DESC, ({spelling_similarity}) DESC, "
        f"{_P}.given_name ASC, {_P}.family_name ASC, {_P}.id ASC"
    )
    params = [
        *candidates[1],
        *hit_params,
        *(form.key for form in forms),
        " ".join(word for word, _ in forms[0].spelled),
    ]
    return sql, params


def _near_words(keys: list[str]) -> Sql:
    """Vocabulary words within one edit of any of `keys` (a letter changed, added, dropped, or two
    neighbours swapped): looked up by the one-edit probes (`deletes` index), then checked exactly as
    search.within_one_edit does, with LIKE patterns ('_' is one letter) and the exact forms."""
    probes = sorted({probe for key in keys for probe in search.one_edit_probes(key)})
    exact: set[str] = set()
    patterns: set[str] = set()
    like = connection.ops.prep_for_like_query
    for key in keys:
        exact.add(key)
        exact.update(search.deletions(key))
        exact.update(key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(len(key) - 1))
        patterns.update(like(key[:i]) + "_" + like(key[i + 1 :]) for i in range(len(key)))  # changed
        patterns.update(like(key[:i]) + "_" + like(key[i:]) for i in range(len(key) + 1))  # added
    return (
        "(patients_patientnameword.word = ANY(%s::varchar(40)[]) OR patients_patientnameword.deletes && "
        "%s::varchar(40)[]) AND (patients_patientnameword.word = ANY(%s::varchar(40)[]) OR "
        "patients_patientnameword.word LIKE ANY(%s::text[]))",
        [probes, probes, sorted(exact), sorted(patterns)],
    )


def _similar_rows(visible: Sql, forms: list[search.QueryForm], exact: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The typo fallback: each word of the query as typed may also be any word of the clinic's name
    vocabulary within one edit of it (a letter changed, added, dropped, or two swapped), so "Srinivas
    Rqo", "Veknatesh" and "Yoesh" still find their patients. The rows of the best FUZZY_LIMIT of
    those that the exact search did not find, closest first.

    One statement: the vocabulary look-ups are subqueries of the patient look-up, which finds
    nothing unless some word has a correction."""
    typed = [word for word, _ in forms[0].spelled if search.typed_keys(word)]
    bases = [search.typed_keys(word) for word in typed]  # each word's own key first
    if not any(len(word) >= MIN_CORRECTED for word in typed):
        return []
    conditions: list[Sql] = []
    corrections: list[Sql] = []
    for keys, spelled in zip(bases, typed, strict=True):
        word = keys[0]
        # The word as typed still counts as the start of a word; a correction must be a whole word.
        lookups = [search.whole_word(word)] + ([word] if len(word) >= search.MIN_INDEXED_PREFIX else [])
        if len(spelled) < MIN_CORRECTED:
            # Words of one or two letters are being typed, not mistyped: they are kept as they are.
            conditions.append((f"{_P}.search_words && %s::varchar(40)[]", [lookups]))
            continue
        near_sql, near_params = _near_words(keys)
        conditions.append(
            (
                f"{_P}.search_words && (%s::varchar(40)[] || ARRAY(SELECT (patients_patientnameword.word || "
                f"'{search.WHOLE_MARK}')::varchar(40) FROM patients_patientnameword WHERE {near_sql}))",
                [lookups, *near_params],
            )
        )
        corrections.append((f"{near_sql} AND patients_patientnameword.word <> %s", [*near_params, word]))
    not_exact: Sql = (f"NOT ({_P}.id = ANY(%s::uuid[]))", [exact]) if exact else ("", [])
    gate = _or(*corrections)  # no word is one edit from a word of the clinic: nothing to correct
    if len(typed) == 1:
        candidates = _one_word_candidates(visible, bases[0], not_exact)
    else:
        condition = _and(*conditions, not_exact)
        candidates = _capped(visible, condition), [*visible[1], *condition[1]]
    sql = (
        f"SELECT {_ROW_COLUMNS} {_ROWS_FROM} WHERE {_P}.id = ANY(ARRAY({candidates[0]})) "
        f"AND EXISTS (SELECT 1 FROM patients_patientnameword WHERE {gate[0]})"
    )
    rows = _fetch(sql, [*candidates[1], *gate[1]])
    scored = []
    for row in rows:
        name = search.name_words(f"{row['given_name']} {row['family_name']}")
        scored.append((search.typo_distance(typed, name), len(name), row["given_name"], row["family_name"], row["id"]))
    by_id = {row["id"]: row for row in rows}
    return [by_id[s[-1]] for s in sorted(scored)[:FUZZY_LIMIT]]


def _one_word_candidates(visible: Sql, keys: list[str], not_exact: Sql) -> Sql:
    """The candidates for a one-word typo, at most SEARCH_CANDIDATES, gathered closest first: names
    with a word starting with the word as typed, then corrections that keep its first letter
    ("Yoesh": Yogesh), then the others (Das, Bose, Usha: a first letter is rarely the typo). A short
    word has many neighbours ("ys": as, bs, ds, gs, ...) and common ones are in tens of thousands of
    names: taken all at once, PostgreSQL reads every one of those index entries before the cap,
    taken in turn it stops once the cap is reached."""
    word = keys[0]
    lookups = [search.whole_word(word)] + ([word] if len(word) >= search.MIN_INDEXED_PREFIX else [])
    near_sql, near_params = _near_words(keys)
    groups: list[Sql] = [(f"{_P}.search_words && %s::varchar(40)[]", [lookups])]
    for same in ("=", "<>"):
        groups.append(
            (
                f"{_P}.search_words && ARRAY(SELECT (patients_patientnameword.word || '{search.WHOLE_MARK}')"
                f"::varchar(40) FROM patients_patientnameword WHERE {near_sql} "
                f"AND left(patients_patientnameword.word, 1) {same} left(%s, 1))",
                [*near_params, word],
            )
        )
    parts = [_and(group, not_exact) for group in groups]
    sql = " UNION ALL ".join(f"({_capped(visible, part)})" for part in parts) + f" LIMIT {SEARCH_CANDIDATES}"
    return sql, [p for part in parts for p in (*visible[1], *part[1])]


def _name_rows(user: Any, forms: list[search.QueryForm]) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """A name search's rows (exact matches best first, then similar names) and the similar ones' ids."""
    visible = _visible_sql(user)
    rows = _fetch(*_ranked(_exact_candidates(visible, forms), forms))
    if len(rows) >= FUZZY_BELOW:
        return rows, []
    similar = _similar_rows(visible, forms, [row["id"] for row in rows])
    return rows + similar, [row["id"] for row in similar]


def _by_name(patients: QuerySet[Patient]) -> QuerySet[Patient, dict[str, Any]]:
    return _rows_of(patients.order_by("given_name", "family_name", "id"))


class AnyOf(Func):
    """`expression = ANY(ARRAY(subquery))`. PostgreSQL runs the (capped) subquery once and then
    looks the rows up by primary key; `IN (subquery)` may instead hash-join it against the table."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _candidates(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """The first SEARCH_CANDIDATES matches (in no particular order), for ranking."""
    capped = patients.order_by().values("pk")[:SEARCH_CANDIDATES]
    return Patient.objects.filter(AnyOf(F("pk"), ArraySubquery(capped)))


def normalized_mrn(text: str) -> str:
    """The MRN a query names ("demo 123", "DEMO-000123"), in stored form, or "" when it names none."""
    match = _MRN_RE.match(" ".join((text or "").split()))
    if not match or not any(ch.isalpha() for ch in text):
        return ""
    return f"{match.group(1).upper()}-{int(match.group(2)):06d}"


def patient_search(*, user: Any, query: str) -> PatientSearch:
    """Find patients by name (phonetic, prefix, then similar), phone (any format, or its last
    digits), MRN or ABHA number, among the active patients the user may see."""
    text = " ".join((query or "").split())[:100]
    if not text:
        return PatientSearch(query="", kind="all", queryset=patient_list(user=user), user=user)

    letters = any(ch.isalpha() for ch in text)
    raw_digits = search.digits(text)

    mrn_match = _MRN_RE.match(text) if letters else None
    if mrn_match:
        prefix, number = mrn_match.group(1).upper(), int(mrn_match.group(2))
        candidates = {f"{prefix}-{number:06d}", f"{prefix}-{mrn_match.group(2)}"}
        found = scope_patients(Patient.objects.filter(is_active=True, restricted_at__isnull=True), user).filter(
            mrn__in=candidates
        )
        if found.exists():
            return PatientSearch(query=text, kind="mrn", queryset=_by_name(found), user=user)

    if not letters and raw_digits:
        if len(raw_digits) == 14:
            abha = f"{raw_digits[:2]}-{raw_digits[2:6]}-{raw_digits[6:10]}-{raw_digits[10:]}"
            found = scope_patients(
                Patient.objects.filter(is_active=True, restricted_at__isnull=True, abha_number=abha), user
            )
            return PatientSearch(query=text, kind="abha", queryset=_by_name(found), user=user)
        full = search.parse_full_number(text)
        if full:
            exact = (f"{_P}.phone = %s OR {_P}.whatsapp_number = %s OR {_P}.guardian_phone = %s", [full] * 3)
            return PatientSearch(query=text, kind="phone", queryset=_phone_rows(user, exact, capped=False), user=user)
        conditions: list[Sql] = []
        if len(raw_digits) <= 8:
            from patients.services import format_mrn

            conditions.append((f"{_P}.mrn = %s", [format_mrn(int(raw_digits))]))
        if len(raw_digits) >= MIN_PHONE_FRAGMENT:
            # LIKE '%digits%': the trigram index
            like = "%" + connection.ops.prep_for_like_query(raw_digits) + "%"
            conditions.append((f"{_P}.phone_digits LIKE %s", [like]))
        if not conditions:
            return PatientSearch(query=text, kind="phone", queryset=[], user=user)
        fragment = _phone_rows(user, _or(*conditions), capped=True)
        return PatientSearch(query=text, kind="phone", queryset=fragment, user=user)

    forms = search.query_forms(text)
    if not forms:
        return PatientSearch(query=text, kind="none", queryset=_rows_of(Patient.objects.none()), user=user)
    # Similar names follow every exact match, closest correction first.
    rows, similar = _name_rows(user, forms)
    return PatientSearch(query=text, kind="name", queryset=rows, user=user, similar_ids=frozenset(similar))


# --- duplicates ---------------------------------------------------------------------------------


def patient_possible_duplicates(
    *,
    given_name: str,
    family_name: str = "",
    date_of_birth: dt.date | None = None,
    dob_is_estimated: bool = False,
    phones: Iterable[str] = (),
    exclude_id: Any = None,
    user: Any = None,
    limit: int = 10,
) -> list[Any]:
    """Active patients of the clinic who may be the same person: same phone or WhatsApp number,
    or a similar name (trigram similarity of the name keys) and a matching date of birth.

    The check covers the whole clinic, so a patient registered at another branch is not
    registered twice; views show other branches' matches without their details."""
    from patients.services import DuplicateCandidate

    numbers = [p for p in phones if p]
    key = search.name_key(given_name, family_name)
    active = Patient.objects.filter(is_active=True).select_related("registered_location")
    if exclude_id is not None:
        active = active.exclude(pk=exclude_id)
    reasons: dict[uuid.UUID, list[str]] = {}
    found: dict[uuid.UUID, Patient] = {}
    if numbers:
        for patient in active.filter(Q(phone__in=numbers) | Q(whatsapp_number__in=numbers))[:limit]:
            found[patient.pk] = patient
            reasons.setdefault(patient.pk, []).append("same phone number")
    if key and date_of_birth is not None:
        if dob_is_estimated:
            born = Q(date_of_birth__year__gte=date_of_birth.year - 1, date_of_birth__year__lte=date_of_birth.year + 1)
        else:
            born = Q(date_of_birth=date_of_birth) | Q(
                dob_is_estimated=True,
                date_of_birth__year__gte=date_of_birth.year - 1,
                date_of_birth__year__lte=date_of_birth.year + 1,
            )
        similar = (
            active.filter(TrigramSimilar(F("name_key"), Value(key)))
            .filter(born)
            .annotate(name_similarity=TrigramSimilarity("name_key", key))
            .filter(name_similarity__gte=DUPLICATE_NAME_SIMILARITY)
            .order_by("-name_similarity")[:limit]
        )
        for patient in similar:
            found.setdefault(patient.pk, patient)
            reasons.setdefault(patient.pk, []).append("similar name and date of birth")
    ordered = sorted(found.values(), key=lambda p: (-len(reasons[p.pk]), p.given_name, p.family_name))
    return [DuplicateCandidate(patient=p, reasons=tuple(reasons[p.pk])) for p in ordered[:limit]]


# --- chart timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "visit", "prescription", "document", "consent", "certificate", "registry", ...
    at: dt.datetime
    title: str
    detail: str = ""
    url: str = ""
    badge: str = ""
    clinical: bool = False


TimelineSource = Callable[[Patient, Any], Iterable[TimelineEntry]]
_TIMELINE_SOURCES: dict[str, TimelineSource] = {}
TIMELINE_SOURCE_LIMIT = 200


def register_timeline_source(name: str, source: TimelineSource) -> None:
    """Let another app add entries (appointments, messages, invoices) to the patient chart.

    A source receives the patient and the viewing user and must itself leave out what the
    user's capabilities do not allow."""
    _TIMELINE_SOURCES[name] = source


def url_for(names: Iterable[str], fallback: str, **kwargs: Any) -> str:
    """The first URL name that exists (pages of other parts of the app), else the agreed path."""
    for name in names:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return fallback


def _registry(patient: Patient, user: Any) -> Iterable[TimelineEntry]:
    """Registration, WhatsApp consent decisions and merges: demographics, visible to all who see the patient."""
    entries = [
        TimelineEntry(
            kind="registry",
            at=patient.created_at,
            title="Registered",
            detail=f"{patient.mrn} at {patient.registered_location.name}",
            badge="Registration",
        )
    ]
    logged = list(patient.consent_log.select_related("recorded_by"))
    for row in logged:  # the consent log (patients.consents); the WhatsApp fields below are its older mirror
        who = f"{row.guardian_name} ({row.guardian_relation.lower()})" if row.given_by == "guardian" else "the patient"
        entries.append(
            TimelineEntry(
                kind="registry",
                at=row.recorded_at,
                title=f"{row.get_purpose_display()}: {row.get_action_display().lower()}",
                detail=f"By {who}, {row.get_channel_display().lower()}"
                + (f", notice version {row.notice_version}" if row.notice_version else "")
                + (f", recorded by {row.recorded_by.full_name}" if row.recorded_by else ""),
                url=f"/patients/{patient.pk}/consent-log/",
                badge="Consent",
            )
        )
    if patient.whatsapp_consent_at and not logged:
        entries.append(
            TimelineEntry(
                kind="registry",
                at=patient.whatsapp_consent_at,
                title="Agreed to WhatsApp messages",
                detail=f"Notice version {patient.whatsapp_consent_notice_version}, "
                f"{_consent_source_label(patient.whatsapp_consent_source).lower()}"
                + (f", taken by {taker.full_name}" if (taker := patient.whatsapp_consent_taken_by) else ""),
                badge="Consent to contact",
            )
        )
    if patient.whatsapp_opted_out_at and not logged:
        entries.append(
            TimelineEntry(
                kind="registry",
                at=patient.whatsapp_opted_out_at,
                title="Opted out of WhatsApp messages",
                badge="Consent to contact",
            )
        )
    for merged in Patient.objects.filter(merged_into=patient).only("mrn", "updated_at"):
        entries.append(
            TimelineEntry(
                kind="registry",
                at=merged.updated_at,
                title=f"Record {merged.mrn} merged into this one",
                url=f"/patients/{merged.pk}/",
                badge="Merge",
            )
        )
    return entries


def _consent_source_label(source: str) -> str:
    from patients.services import CONSENT_SOURCES

    return CONSENT_SOURCES.get(source, source or "unknown source")


register_timeline_source("registry", _registry)


def patient_timeline(*, user: Any, patient: Patient) -> list[TimelineEntry]:
    """The chart's history, newest first. Clinical entries only for users who may read them."""
    entries: list[TimelineEntry] = []
    for source in _TIMELINE_SOURCES.values():
        entries.extend(source(patient, user))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: e.at or epoch, reverse=True)


ChartCounter = Callable[[Patient, Any], dict[str, int]]
_CHART_COUNTERS: list[ChartCounter] = []


def register_chart_counter(counter: ChartCounter) -> None:
    """Let another app add counts to the chart's tabs (visits, prescriptions, ...). A counter counts
    only what the viewing user may open."""
    _CHART_COUNTERS.append(counter)


def patient_clinical_counts(*, user: Any, patient: Patient) -> dict[str, int]:
    """How many records of each kind the chart holds (for its tabs), as far as the user may open them."""
    counts: dict[str, int] = {}
    for counter in _CHART_COUNTERS:
        counts.update(counter(patient, user))
    return counts


ChartSection = Callable[[Patient, Any], dict[str, Any] | None]
_CHART_SECTIONS: list[ChartSection] = []


def register_chart_section(section: ChartSection) -> None:
    """Let another app add a panel to the chart's summary (clinical: recorded allergies). A section
    gives the context of its panel, with the panel's `template`, or None to show nothing to this user."""
    if section not in _CHART_SECTIONS:
        _CHART_SECTIONS.append(section)


def patient_chart_sections(*, user: Any, patient: Patient) -> list[dict[str, Any]]:
    return [context for section in _CHART_SECTIONS if (context := section(patient, user))]


# --- who opened the record ----------------------------------------------------------------------

RECORD_READS_SHOWN = 25


@dataclass(frozen=True)
class RecordRead:
    at: dt.datetime
    who: str
    what: str


def patient_record_reads(*, patient: Patient, limit: int = RECORD_READS_SHOWN) -> list[RecordRead]:
    """Who opened this patient's record, newest first (one entry per person and ten minutes), for
    staff who may read the audit log: the answer to a patient's "who looked at my record"."""
    rows = list(reads_of(patient.pk)[:limit])
    names = dict(User.objects.filter(pk__in={row.user_id for row in rows}).values_list("pk", "full_name"))
    return [
        RecordRead(
            at=row.first_at, who=names.get(row.user_id) or "Former staff member", what=row.what.replace(".", " ")
        )
        for row in rows
    ]


# --- imports ------------------------------------------------------------------------------------


def patient_import_get(*, user: User, import_id: Any) -> PatientImport:
    """An import of this clinic (404 otherwise). Restricted staff see imports into their locations."""
    pk = parse_uuid(import_id)
    imports = PatientImport.objects.select_related("location", "created_by")
    ids = user_location_ids(user)
    if ids is not None:
        imports = imports.filter(location_id__in=ids)
    found = imports.filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404("No such import")
    return found


def patient_import_list(*, user: User) -> QuerySet[PatientImport]:
    imports = PatientImport.objects.select_related("location", "created_by").defer("errors")
    ids = user_location_ids(user)
    if ids is not None:
        imports = imports.filter(location_id__in=ids)
    return imports.order_by("-created_at")


def today() -> dt.date:
    return timezone.localdate()
