"""The search quality targets of issue 16 on a small generated set (benchmarks/search_quality.py
measures the same on a larger one): spelling variants, initials, compounds and honorifics >= 99%
in the first five, one-edit typos >= 95%, 3-letter prefixes ranked first 100%, phone and MRN 100%
first."""

import pytest
from django_tenants.utils import tenant_context

from benchmarks import search_corpus
from tests.patients.registry_helpers import user

PATIENTS = 300
PER_CLASS = 40


@pytest.fixture
def generated(clinic_a):
    population = search_corpus.people(PATIENTS)
    with tenant_context(clinic_a.clinic):
        ids = search_corpus.load(population, [loc.pk for loc in clinic_a.locations])
    return population, ids


def test_search_meets_the_quality_targets_on_a_generated_set(clinic_a, generated):
    population, ids = generated
    queries = search_corpus.cases(population, per_kind=PER_CLASS)
    with tenant_context(clinic_a.clinic):
        scores = search_corpus.evaluate(user(clinic_a, "owner"), population, ids, queries, numbers=20)
    assert {"variant", "initials", "compound", "honorific", "prefix", "phone", "mrn"} <= set(scores)
    assert set(search_corpus.TYPO_KINDS) <= set(scores)
    assert search_corpus.shortfalls(scores) == []
