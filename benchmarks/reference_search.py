"""Reference search latency: the medicine search (clinical.drug_reference) and the ICD-10 search
(clinical.icd10), in memory, as every keystroke of the autocomplete calls them.

    python -m benchmarks.reference_search [ROUNDS]     (ROUNDS of the query set, default 5)

No database. Queries are what people type: every 2- to 6-letter prefix of each brand and generic
name, the same with one letter dropped (a typo), and for ICD-10 code prefixes and title words.
Reported: the one-off load time and p50/p95/max per family. Target: p95 < 5 ms per keystroke.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

TARGET_P95_MS = 5.0


def _timed(search: Callable[[str], object], queries: list[str]) -> list[float]:
    timings = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _report(name: str, timings: list[float]) -> bool:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name:<28} n={len(ordered):>6}  p50={statistics.median(ordered):6.2f} ms  p95={p95:6.2f} ms  "
        f"max={ordered[-1]:7.2f} ms  {'OK' if p95 < TARGET_P95_MS else 'SLOW'}"
    )
    return p95 < TARGET_P95_MS


def main(argv: list[str] | None = None) -> None:
    import django

    django.setup()
    from clinical import drug_reference, icd10

    args = list(sys.argv[1:] if argv is None else argv)
    rounds = int(args[0]) if args and args[0].isdigit() else 5
    rnd = random.Random(9)

    started = time.perf_counter()
    products = drug_reference.products()
    print(f"formulary load: {(time.perf_counter() - started) * 1000:.0f} ms ({len(products)} products)")
    started = time.perf_counter()
    count = icd10.codes_count()
    print(f"ICD-10 load:    {(time.perf_counter() - started) * 1000:.0f} ms ({count} codes)")

    names = sorted({drug_reference.normalize(p.name) for p in products})
    prefixes = [name[:n] for name in names for n in range(2, 7) if len(name) >= n]
    typos = [
        word[:i] + word[i + 1 :]
        for word in (name.split()[0] for name in names)
        if len(word) >= 6
        for i in [rnd.randrange(1, len(word) - 1)]
    ]
    titles = [entry.description.split()[0].lower()[:6] for entry in icd10.search("a", limit=0)] or []
    codes = sorted({entry_code[:n] for entry_code in ("A01.0", "J06.9", "E11.9", "I10", "K29.7") for n in (2, 3, 5)})
    words = ["typhoid", "diabetes", "type 2 diabetes", "fever", "hypertension", "anemia", "asthma", "gastritis"]
    words += [w[:4] for w in words] + titles

    ok = True
    for _ in range(rounds):
        rnd.shuffle(prefixes)
    ok &= _report("medicines: prefixes", _timed(drug_reference.search, prefixes * rounds))
    ok &= _report("medicines: typos", _timed(drug_reference.search, typos * rounds))
    ok &= _report("ICD-10: codes", _timed(icd10.search, codes * rounds * 20))
    ok &= _report("ICD-10: words", _timed(icd10.search, words * rounds * 20))
    print("target: p95 < 5 ms per keystroke:", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
