"""The search_path is set once per tenant activation (TENANT_LIMIT_SET_CALLS), not once per cursor,
and never trusted after a rollback undid it: a query must always run in the active clinic."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from accounts.models import Location


class Boom(Exception):
    pass


def _location_ids(seeded) -> set:
    return {location.pk for location in seeded.locations}


def test_one_search_path_per_tenant_activation(clinic_a, clinic_b):
    with tenant_context(clinic_a.clinic), CaptureQueriesContext(connection) as captured:
        assert set(Location.objects.values_list("pk", flat=True)) == _location_ids(clinic_a)
        assert Location.objects.count() == len(clinic_a.locations)
        assert Location.objects.filter(pk__in=_location_ids(clinic_a)).exists()
    sets = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]
    assert len(sets) == 1
    assert clinic_a.schema in sets[0]
    with tenant_context(clinic_b.clinic):  # another clinic: set again
        assert set(Location.objects.values_list("pk", flat=True)) == _location_ids(clinic_b)


@pytest.mark.parametrize("rollback", ["atomic", "atomic_then_savepoint"])
def test_search_path_undone_by_a_rollback_is_set_again(clinic_a, clinic_b, rollback):
    with tenant_context(clinic_b.clinic):
        assert set(Location.objects.values_list("pk", flat=True)) == _location_ids(clinic_b)
    with tenant_context(clinic_a.clinic):
        # The first query in clinic A sets its search_path inside a block that is rolled back:
        # PostgreSQL restores clinic B's, so the next query must set A's again.
        with pytest.raises(Boom), transaction.atomic():
            assert Location.objects.count() == len(clinic_a.locations)
            raise Boom
        if rollback == "atomic_then_savepoint":
            sid = transaction.savepoint()
            assert Location.objects.count() == len(clinic_a.locations)
            transaction.savepoint_rollback(sid)
        assert set(Location.objects.values_list("pk", flat=True)) == _location_ids(clinic_a)
