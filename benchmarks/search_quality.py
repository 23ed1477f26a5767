"""Patient name search quality on a generated set of Indian names: recall@1 and recall@5 per class.

    python -m benchmarks.search_quality [N] [PER_CLASS]     (N patients, default 2,000; PER_CLASS default 300)

Creates its own database (docos_bench_<pid>, dropped at the end), one clinic with two locations,
and N patients from every region of India (benchmarks/search_corpus.py: spelling variants, middle
names for initials, compound surnames, shared surnames as decoys), written with the search keys
the services compute. Then it runs each query the way the search page does (first page, similar
names included) and prints, per class, recall@1 and recall@5 (the intended patient first / among
the first five); for 3-letter prefixes, the share of queries whose results list every patient with
a given or family name starting with those letters before any other.

Targets: spelling variants, initials, compounds, honorifics >= 99% @5; one-edit typos >= 95% @5;
prefixes 100% ordered; phone and MRN 100% @1.
"""

from __future__ import annotations

import sys
import time

from benchmarks._support import bench_database, positive_int, say


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    n = positive_int(argv, 0, 2_000) or 2_000
    per_class = positive_int(argv, 1, 300) or 300
    with bench_database("search_quality"):
        from django.db import connection
        from django_tenants.utils import tenant_context

        from accounts.models import Location, User
        from benchmarks import search_corpus
        from clinics.services import clinic_create

        created = clinic_create(
            slug="quality",
            name="Quality Clinic",
            owner_email="owner@quality.example.in",
            owner_password=None,
            locations=("Koramangala", "Indiranagar"),
        )
        with tenant_context(created.clinic):
            location_ids = list(Location.objects.order_by("name").values_list("pk", flat=True))
            population = search_corpus.people(n)
            ids = search_corpus.load(population, location_ids)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE patients_patient")
            owner = User.objects.select_related("role").get(pk=created.owner.pk)
            queries = search_corpus.cases(population, per_kind=per_class)
            say(f"[search_quality] {len(population):,} patients, {len(queries):,} name queries (+ phones and MRNs)")
            started = time.perf_counter()
            scores = search_corpus.evaluate(owner, population, ids, queries)
            elapsed = time.perf_counter() - started
            say(f"  {'class':<12} {'queries':>7} {'@1':>7} {'@5':>7}")
            for kind, score in sorted(scores.items()):
                say(f"  {kind:<12} {score.total:>7} {score.rate(score.at1):>7.1%} {score.rate(score.at5):>7.1%}")
            total = sum(s.total for s in scores.values())
            say(f"[search_quality] {total:,} searches in {elapsed:.1f} s ({elapsed / total * 1000:.1f} ms each)")
            missed = search_corpus.shortfalls(scores)
            for line in missed:
                say(f"  MISSED {line}")
            say(f"[search_quality] targets: {'OK' if not missed else 'MISSED'}")
        connection.set_schema_to_public()


if __name__ == "__main__":
    main()
