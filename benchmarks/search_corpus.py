"""A generated set of patients with Indian names and the searches staff type for them.

Shared by `benchmarks/search_quality.py` (the figures) and `tests/patients/test_search_targets.py`
(the same targets on a smaller set, in the normal suite). Everything is deterministic for a seed.

Names come from every region (North, South, East, West, Muslim, Sikh, Parsi, Christian,
North-East, Kashmir), with middle names that people abbreviate ("Sunil Kumar" -> "SK"), compound
surnames that people split ("Deshpande" -> "Desh Pande") and surnames shared by many patients
(the decoys). Query classes:

- `variant`: one word spelled another common way (Iyer/Aiyar, Mahesh/Magesh, Bikash/Vikash);
- `initials`: given names as initials, joined ("SK Reddy"), spaced ("S K Reddy") or dotted;
- `compound`: a compound name typed as two words ("Sen Gupta", "Chandra Sekhar");
- `typo-sub`, `typo-key`, `typo-swap`, `typo-del`, `typo-ins`: one edit in one word (any letter,
  a keyboard neighbour, two neighbours swapped, one dropped, one added);
- `honorific`: "Dr.", "Smt", "Mr" ... before the name;
- `exact`: the name as registered;
- `prefix`: the first three letters of a given or family name (judged on ordering, see
  `prefix_ordered`);
- `phone`, `mrn`: the patient's mobile number and MRN as typed at the desk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (given names, family names) per region; "M:" / "F:" pools. Middle names make initials.
REGIONS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "north": (
        "Rajesh Amit Sanjay Rahul Vikas Ashok Pankaj Manoj Deepak Rohit Ankit Saurabh Gaurav Vivek Om Prakash "
        "Ram Kishan Shyam Lal Hari Om Jai Prakash Yogesh Lalit Sudhir Ajay Kumar".split(),
        "Sunita Pooja Neha Anjali Poonam Kavita Rekha Geeta Priyanka Shalini Ritu Sapna Aarti Komal Savita".split(),
        "Sharma Verma Gupta Agarwal Yadav Mishra Tiwari Pandey Srivastava Saxena Chauhan Rathore Thakur "
        "Rawat Negi Bisht Malhotra Kapoor Khanna Arora Bhatia Dubey Tripathi Awasthi Chaturvedi".split(),
    ),
    "south": (
        "Srinivas Venkatesh Mahesh Suresh Ramesh Ganesh Karthik Raghavendra Manjunath Basavaraj Nagaraj Murali "
        "Senthil Saravanan Murugan Arun Balaji Prasad Subramanya Anand Sunil Kumar Vijay Kumar Krishna "
        "Satyanarayana Ravi Shankar Raghu Nandan Chandra Sekhar Hari Prasad".split(),
        "Lakshmi Aishwarya Kavya Divya Deepa Sowmya Chaitra Pavithra Harini Keerthi Nandini Selvi Kavitha "
        "Padma Vasantha Bhagya Sreeja Jyothi Meenakshi Revathi".split(),
        "Reddy Rao Naidu Iyer Iyengar Nair Menon Pillai Krishnan Subramanian Gowda Hegde Shetty Murthy "
        "Ramakrishnan Venkataraman Chandrasekhar Raghunandan Kamath Shenoy Bhat Achar Swamy Prabhu".split(),
    ),
    "east": (
        "Biswajit Bikash Debashish Subhash Sourav Arijit Sayan Abhijit Prasanta Sanjib Amitabha Jyotirmoy "
        "Tapas Goutam Rabindra Sudipta Partha Pratap".split(),
        "Mousumi Rituparna Sreya Moumita Tanushree Ananya Sharmila Sudeshna Rupa Madhumita Ipsita Swagata".split(),
        "Das Bose Ghosh Sen Sengupta Dasgupta Banerjee Chatterjee Mukherjee Mohanty Behera Patnaik Sahoo "
        "Biswas Chakraborty Mitra Majumdar Bhattacharya Roy Pradhan Mahapatra Nayak".split(),
    ),
    "west": (
        "Hitesh Jignesh Bhavesh Nilesh Mukesh Rakesh Paresh Chirag Tushar Sachin Sandeep Ajit Mahendra "
        "Dilip Shailesh Nitin Prashant".split(),
        "Hetal Falguni Bhavna Nisha Rupal Ashwini Madhuri Swati Shubhangi Manisha Shilpa Vaishali".split(),
        "Patel Shah Desai Mehta Joshi Kulkarni Deshpande Patil Jadhav Pawar Gaikwad Shinde Deshmukh Bhosale "
        "Sawant Parikh Trivedi Dave Pandya Chavan".split(),
    ),
    "muslim": (
        "Mohammed Imran Irfan Salman Farhan Abdul Rahman Syed Aamir Zubair Shahid Sohail Arif Javed Tariq "
        "Nadeem Rizwan Faisal".split(),
        "Fatima Ayesha Zainab Shabana Nasreen Rukhsar Farida Sultana Yasmin Heena Ruksana Sana Mehnaz".split(),
        "Khan Sheikh Qureshi Ansari Siddiqui Hussain Rizvi Ahmed Mirza Pathan Shaikh Baig Hashmi Naqvi".split(),
    ),
    "sikh": (
        "Gurpreet Harpreet Manpreet Jaspreet Harjeet Kulwinder Baljit Sukhwinder Amrinder Gurjeet".split(),
        "Simran Navneet Harleen Jasleen Kirandeep Amandeep Rajwinder Paramjit".split(),
        "Singh Kaur Gill Sandhu Dhillon Grewal Sidhu Bajwa Randhawa Brar Virk".split(),
    ),
    "parsi": (
        "Cyrus Jamshed Rustom Darius Farokh Zubin Kaizad Behram".split(),
        "Roshan Perizad Shirin Freny Dilnaz Hutoxi Zarine".split(),
        "Irani Wadia Mistry Contractor Engineer Bharucha Daruwalla Dastur Kapadia Batliwala".split(),
    ),
    "christian": (
        "Joseph Thomas George Abraham Jacob Mathew Sebastian Anthony Francis Xavier".split(),
        "Mary Elizabeth Annamma Susan Shirley Teresa Celine Jessy".split(),
        "Varghese DSouza Fernandes Kurian Pereira Rodrigues Pinto Lobo Menezes Cherian".split(),
    ),
    "northeast": (
        "Tenzin Bhaskar Pranjal Dipankar Lalremruata Thangjam Kamal Ranjit Hemanta Nabajit".split(),
        "Lalremruati Doma Pemba Rimi Bandana Nilakshi Juri Monalisa Chingmei".split(),
        "Sangma Marak Lyngdoh Gogoi Bora Baruah Saikia Lepcha Tamang Haokip Konyak Hazarika Kalita Phukan".split(),
    ),
    "kashmir": (
        "Omar Bilal Sajad Showkat Farooq Mushtaq".split(),
        "Insha Mehvish Saima Rubeena Iqra".split(),
        "Bhat Kaul Raina Dar Wani Lone Mir Kachroo".split(),
    ),
}

# Given-name pairs that people write as initials ("Sunil Kumar" -> SK).
_MIDDLE = {"Kumar", "Prakash", "Lal", "Kishan", "Om", "Nandan", "Sekhar", "Prasad", "Shankar"}

# Interchangeable spellings: a patient registered with one is searched for with another.
VARIANT_GROUPS: list[tuple[str, ...]] = [
    ("Iyer", "Aiyar", "Ayyar"),
    ("Iyengar", "Ayyangar", "Iyangar"),
    ("Aishwarya", "Ishwarya", "Aishwaria"),
    ("Mahesh", "Magesh"),
    ("Bikash", "Vikash", "Bikas"),
    ("Behera", "Behra"),
    ("Krishna", "Kishna", "Krushna"),
    ("Mohammed", "Muhammad", "Mohammad", "Mohd", "Md"),
    ("Lakshmi", "Laxmi", "Lakshmee"),
    ("Srinivas", "Shrinivas", "Sreenivas", "Srinivasa"),
    ("Venkatesh", "Wenkatesh", "Venkatesa"),
    ("Poonam", "Punam"),
    ("Sharma", "Sarma"),
    ("Agarwal", "Aggarwal", "Agrawal"),
    ("Nair", "Nayar"),
    ("Fatima", "Fathima"),
    ("Sheikh", "Shaikh", "Shekh"),
    ("Gowda", "Gouda"),
    ("Shetty", "Setty"),
    ("Mukherjee", "Mukerji", "Mukherji"),
    ("Chatterjee", "Chaterji", "Chatterji"),
    ("Banerjee", "Banerji", "Bannerjee"),
    ("Deepa", "Dipa"),
    ("Joseph", "Jozef"),
    ("Chaitra", "Chaithra"),
    ("Hegde", "Hegade"),
    ("Ayesha", "Aisha", "Aysha"),
    ("Karthik", "Karthick", "Kartik"),
    ("Biswas", "Viswas"),
    ("Debashish", "Devashish", "Debasis"),
    ("Chakraborty", "Chakravarty", "Chakrabarti"),
    ("Mohanty", "Mahanty"),
    ("Patnaik", "Pattanaik", "Pattnaik"),
    ("Sahoo", "Sahu"),
    ("Hussain", "Husain", "Hussein"),
    ("Ahmed", "Ahmad"),
    ("Qureshi", "Kureshi"),
    ("Siddiqui", "Siddiqi", "Siddiki"),
    ("Rizvi", "Rizwi"),
    ("Syed", "Sayed", "Sayyed"),
    ("Kaur", "Kour"),
    ("Gurpreet", "Gurprit"),
    ("Harjeet", "Harjit"),
    ("Dhillon", "Dillon"),
    ("Sandhu", "Sandu"),
    ("Pillai", "Pillay"),
    ("Saikia", "Saikiya"),
    ("Baruah", "Barua"),
    ("Gogoi", "Gogoy"),
    ("Bhattacharya", "Bhatacharya", "Bhattacharyya"),
    ("Choudhary", "Chaudhari", "Chowdhury"),
    ("Jyothi", "Jyoti"),
    ("Satyanarayana", "Sathyanarayana", "Satyanarayan"),
    ("Subramanian", "Subramaniyan"),
    ("Kavitha", "Kavita"),
    ("Sowmya", "Soumya"),
    ("Keerthi", "Kirti", "Keerti"),
    ("Sourav", "Saurav", "Sourabh"),
    ("Goutam", "Gautam"),
    ("Prasanta", "Prashant", "Prasant"),
    ("Rabindra", "Ravindra"),
    ("Tapas", "Tapash"),
    ("Majumdar", "Mazumdar"),
    ("Mahapatra", "Mohapatra"),
    ("Varghese", "Vargese", "Verghese"),
    ("DSouza", "Dsouza", "De Souza"),
    ("Zubair", "Jubair", "Subair"),
    ("Yasmin", "Yasmeen"),
    ("Nasreen", "Nasrin"),
    ("Sreeja", "Sreja", "Shreeja"),
]

# Compound names typed as two words.
COMPOUNDS = {
    "Deshpande": "Desh Pande",
    "Sengupta": "Sen Gupta",
    "Dasgupta": "Das Gupta",
    "Chandrasekhar": "Chandra Sekhar",
    "Raghunandan": "Raghu Nandan",
    "Ramakrishnan": "Rama Krishnan",
    "Venkataraman": "Venkata Raman",
    "Satyanarayana": "Satya Narayana",
    "Daruwalla": "Daru Walla",
    "Batliwala": "Batli Wala",
    "Deshmukh": "Desh Mukh",
    "Majumdar": "Maj Umdar",
    "Bhattacharya": "Bhatta Charya",
    "Mahapatra": "Maha Patra",
    "Lalremruata": "Lalrem Ruata",
    "Chaturvedi": "Chatur Vedi",
}

HONORIFICS = ["Mr.", "Mr", "Mrs.", "Ms", "Dr.", "Dr", "Smt.", "Smt", "Shri", "Sri", "Kumari", "Miss", "Prof."]

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
KEYBOARD_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _c, _ch in enumerate(_row):
        # Staggered rows: the row above touches columns c and c+1, the row below c-1 and c.
        near = [_row[i] for i in (_c - 1, _c + 1) if 0 <= i < len(_row)]
        if _r > 0:
            near += [_ROWS[_r - 1][i] for i in (_c, _c + 1) if i < len(_ROWS[_r - 1])]
        if _r + 1 < len(_ROWS):
            near += [_ROWS[_r + 1][i] for i in (_c - 1, _c) if 0 <= i < len(_ROWS[_r + 1])]
        KEYBOARD_NEIGHBOURS[_ch] = "".join(near)


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    sex: str
    region: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Case:
    kind: str
    query: str
    target: int  # index into the people list; -1 for prefix cases (judged on ordering)


VARIANTS: dict[str, tuple[str, ...]] = {w: group for group in VARIANT_GROUPS for w in group}


def _given_pool(region: str, sex: str) -> list[str]:
    male, female, _ = REGIONS[region]
    pool = male if sex == "M" else female
    # Pair middle names with the name before them ("Sunil Kumar", "Om Prakash").
    out: list[str] = []
    i = 0
    while i < len(pool):
        if i + 1 < len(pool) and pool[i + 1] in _MIDDLE:
            out.append(f"{pool[i]} {pool[i + 1]}")
            i += 2
        else:
            out.append(pool[i])
            i += 1
    return out


def people(n: int, seed: int = 16) -> list[Person]:
    """n patients with distinct full names, regions in turn, surnames shared within a region.

    Every family name and every variant-group word appears at least once, so each query class has
    targets; the rest is random."""
    rnd = random.Random(seed)
    seen: set[str] = set()
    out: list[Person] = []
    regions = list(REGIONS)

    def add(given: str, family: str, sex: str, region: str) -> None:
        person = Person(given, family, sex, region)
        if person.full_name.lower() not in seen and len(out) < n:
            seen.add(person.full_name.lower())
            out.append(person)

    # First the names the query classes need, then random fill.
    for region in regions:
        families = REGIONS[region][2]
        for j, family in enumerate(families):
            sex = "M" if j % 2 == 0 else "F"
            add(rnd.choice(_given_pool(region, sex)), family, sex, region)
        for sex in "MF":
            for given in _given_pool(region, sex):
                add(given, rnd.choice(families), sex, region)
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        region = regions[attempts % len(regions)]
        sex = rnd.choice("MF")
        family = "" if rnd.random() < 0.03 else rnd.choice(REGIONS[region][2])
        add(rnd.choice(_given_pool(region, sex)), family, sex, region)
    rnd.shuffle(out)
    return out


def _typo(word: str, kind: str, rnd: random.Random) -> str:
    lower = word.lower()
    n = len(lower)
    i = rnd.randrange(1, n) if n > 1 else 0  # people rarely mistype the first letter they look at
    if kind == "typo-sub":
        choices = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != lower[i]]
        out = lower[:i] + rnd.choice(choices) + lower[i + 1 :]
    elif kind == "typo-key":
        near = KEYBOARD_NEIGHBOURS.get(lower[i], "") or "a"
        out = lower[:i] + rnd.choice(near) + lower[i + 1 :]
    elif kind == "typo-swap":
        i = min(i, n - 2)
        if lower[i] == lower[i + 1]:
            i = max(0, i - 1)
        out = lower[:i] + lower[i + 1] + lower[i] + lower[i + 2 :]
    elif kind == "typo-del":
        out = lower[:i] + lower[i + 1 :]
    else:  # typo-ins
        near = KEYBOARD_NEIGHBOURS.get(lower[i], "") or "a"
        out = lower[:i] + rnd.choice(near + lower[i]) + lower[i:]
    return out.capitalize()


TYPO_KINDS = ("typo-sub", "typo-key", "typo-swap", "typo-del", "typo-ins")


def cases(population: list[Person], seed: int = 16, per_kind: int = 200) -> list[Case]:
    """Queries with the patient each one is meant to find (at most `per_kind` per class)."""
    rnd = random.Random(seed + 1)
    found: dict[str, list[Case]] = {}

    def add(kind: str, query: str, target: int) -> None:
        bucket = found.setdefault(kind, [])
        if query.lower() != population[target].full_name.lower() or kind in ("exact", "prefix"):
            bucket.append(Case(kind, query, target))

    order = list(range(len(population)))
    rnd.shuffle(order)
    for i in order:
        p = population[i]
        given_words = p.given_name.split()
        family_words = p.family_name.split()
        words = given_words + family_words
        add("exact", p.full_name, i)
        for w, word in enumerate(words):
            for other in VARIANTS.get(word, ()):
                if other != word:
                    swapped = [*words[:w], other, *words[w + 1 :]]
                    add("variant", " ".join(swapped), i)
        if len(given_words) > 1 and family_words:
            initials = "".join(g[0] for g in given_words)
            add("initials", f"{initials} {p.family_name}", i)
            add("initials", f"{' '.join(initials)} {p.family_name}", i)
            add("initials", f"{'.'.join(initials)}. {p.family_name}", i)
            add("initials", f"{initials.lower()} {p.family_name.lower()}", i)
        for w, word in enumerate(words):
            if word in COMPOUNDS:
                add("compound", " ".join([*words[:w], COMPOUNDS[word], *words[w + 1 :]]), i)
        if family_words:
            add("honorific", f"{rnd.choice(HONORIFICS)} {p.full_name}", i)
        kind = TYPO_KINDS[i % len(TYPO_KINDS)]
        w = rnd.randrange(len(words))
        if len(words[w]) >= 3:
            typed = [*words[:w], _typo(words[w], kind, rnd), *words[w + 1 :]]
            add(kind, " ".join(typed), i)
    out: list[Case] = []
    for bucket in found.values():
        out.extend(bucket[:per_kind])
    prefixes = sorted({w[:3].lower() for p in population for w in p.full_name.split() if len(w) >= 3})
    rnd.shuffle(prefixes)
    out.extend(Case("prefix", prefix.capitalize(), -1) for prefix in prefixes[:per_kind])
    return out


def starts_with(person: Person, prefix: str) -> bool:
    """Does a given or family name (any of its words) start with the typed letters?"""
    return any(word.lower().startswith(prefix.lower()) for word in person.full_name.split())


def prefix_ordered(ranked: list[Person], population: list[Person], prefix: str, page: int = 50) -> bool:
    """Every patient whose given or family name starts with the prefix ranks before every one that
    does not: the first results (as many as there are such patients, up to a page) are all of them."""
    starters = sum(1 for p in population if starts_with(p, prefix))
    head = ranked[: min(starters, page)]
    return len(head) == min(starters, page) and all(starts_with(p, prefix) for p in head)


# --- loading and searching (inside a clinic's schema) -------------------------------------------


def load(population: list[Person], location_ids: list[object], seed: int = 16) -> list[object]:
    """Write the patients with the search keys the services compute; return their ids in order."""
    from patients.models import Patient, PatientNameWord
    from patients.search import deletions
    from patients.services import next_mrn, patient_search_keys

    rnd = random.Random(seed + 2)
    rows = []
    for i, person in enumerate(population):
        patient = Patient(
            mrn=next_mrn(),
            given_name=person.given_name,
            family_name=person.family_name,
            sex=person.sex,
            phone=f"+91{rnd.choice('6789')}{rnd.randrange(10**9):09d}",
            registered_location_id=location_ids[i % len(location_ids)],
        )
        patient_search_keys(patient)
        rows.append(patient)
    Patient.objects.bulk_create(rows, batch_size=1000)
    words = sorted({w for p in rows for w in p.name_key.split()})
    PatientNameWord.objects.bulk_create(
        [PatientNameWord(word=w, deletes=deletions(w)) for w in words], ignore_conflicts=True
    )
    return [p.pk for p in rows]


def search_ids(user: object, query: str, page: int = 50) -> list[object]:
    """The ids the search page shows for a query on its first page, in order (similar names last)."""
    from patients.selectors import patient_search

    return [row.id for row in patient_search(user=user, query=query).rows(0, page)]


@dataclass
class Score:
    kind: str
    total: int = 0
    at1: int = 0
    at5: int = 0
    misses: list[str] | None = None

    def rate(self, hits: int) -> float:
        return hits / self.total if self.total else 1.0


# Targets per class (recall@5, or for prefixes the share of correctly ordered result lists).
TARGETS_AT5 = {"variant": 0.99, "initials": 0.99, "compound": 0.99, "honorific": 0.99, "exact": 0.99}
TARGETS_AT5.update({kind: 0.95 for kind in TYPO_KINDS})
TARGETS_AT1 = {"phone": 1.0, "mrn": 1.0}
TARGET_PREFIX = 1.0


def evaluate(
    user: object, population: list[Person], ids: list[object], queries: list[Case], numbers: int = 100
) -> dict[str, Score]:
    """Run every query the way the search page does and score it per class."""
    from patients.models import Patient

    by_id = {pk: population[i] for i, pk in enumerate(ids)}
    scores: dict[str, Score] = {}
    for case in queries:
        score = scores.setdefault(case.kind, Score(case.kind, misses=[]))
        score.total += 1
        ranked = search_ids(user, case.query)
        if case.kind == "prefix":
            ok = prefix_ordered([by_id[pk] for pk in ranked if pk in by_id], population, case.query)
            score.at1 += ok
            score.at5 += ok
            if not ok and score.misses is not None:
                score.misses.append(case.query)
            continue
        target = ids[case.target]
        score.at1 += bool(ranked) and ranked[0] == target
        hit = target in ranked[:5]
        score.at5 += hit
        if not hit and score.misses is not None:
            score.misses.append(f"{case.query!r} -> {population[case.target].full_name}")
    # Phones and MRNs, as the desk types them.
    rnd = random.Random(5)
    sample = rnd.sample(range(len(ids)), min(numbers, len(ids)))
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=[ids[i] for i in sample])}
    for kind in ("phone", "mrn"):
        score = scores.setdefault(kind, Score(kind, misses=[]))
        for n, i in enumerate(sample):
            patient = patients[ids[i]]
            if kind == "phone":
                national = patient.phone[3:]
                query = [f"{national[:5]} {national[5:]}", patient.phone, "0" + national][n % 3]
            else:
                query = [patient.mrn, patient.mrn.lower().replace("-", " "), patient.mrn.split("-")[1]][n % 3]
            ranked = search_ids(user, query)
            score.total += 1
            score.at1 += bool(ranked) and ranked[0] == patient.pk
            score.at5 += patient.pk in ranked[:5]
            if ranked[:1] != [patient.pk] and score.misses is not None:
                score.misses.append(query)
    return scores


def shortfalls(scores: dict[str, Score]) -> list[str]:
    """The classes below their targets, as sentences (empty when every target is met)."""
    out = []
    for kind, score in sorted(scores.items()):
        if kind == "prefix":
            if score.rate(score.at1) < TARGET_PREFIX:
                out.append(f"prefix ordering {score.rate(score.at1):.1%}: {score.misses[:8] if score.misses else ''}")
        elif kind in TARGETS_AT1:
            if score.rate(score.at1) < TARGETS_AT1[kind]:
                out.append(f"{kind} @1 {score.rate(score.at1):.1%}: {score.misses[:8] if score.misses else ''}")
        elif score.rate(score.at5) < TARGETS_AT5.get(kind, 0.0):
            out.append(f"{kind} @5 {score.rate(score.at5):.1%}: {score.misses[:8] if score.misses else ''}")
    return out
