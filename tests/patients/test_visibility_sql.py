"""patient_visibility_sql (the branch filter the search writes as SQL) admits exactly the patients
scope_patients admits: registered at the user's branch, seen there (a visit), opened there with a
live grant (only with the cross-branch capability), for every built-in role."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tenants.utils import tenant_context

from docos.capabilities import BUILTIN_ROLES
from patients.access import patient_visibility_sql, scope_patients
from patients.models import Patient, PatientAccessGrant
from tests.patients.branch_helpers import branch_patient, branch_visit, main_only
from tests.patients.registry_helpers import user

MAIN, EAST = 1, 0


def _both(seeded, who):
    with tenant_context(seeded.clinic):
        scoped = set(scope_patients(Patient.objects.all(), who).values_list("pk", flat=True))
        condition = patient_visibility_sql(who)
        if condition is None:
            written = set(Patient.objects.values_list("pk", flat=True))
        else:
            sql, params = condition
            written = set(Patient.objects.extra(where=[sql], params=params).values_list("pk", flat=True))
        return scoped, written


def test_branch_filter_as_sql_admits_what_scope_patients_admits(clinic_a):
    at_main = branch_patient(clinic_a, location=MAIN)
    at_east = branch_patient(clinic_a, location=EAST)
    seen_at_main = branch_patient(clinic_a, location=EAST)
    seen_at_east = branch_patient(clinic_a, location=MAIN)
    granted = branch_patient(clinic_a, location=EAST)
    expired = branch_patient(clinic_a, location=EAST)
    branch_visit(clinic_a, seen_at_main, location=MAIN)
    branch_visit(clinic_a, seen_at_east, location=EAST)
    now = timezone.now()
    for role in BUILTIN_ROLES:
        who = main_only(clinic_a, role)
        with tenant_context(clinic_a.clinic):
            main = clinic_a.locations[MAIN]
            for patient, expires in ((granted, now + dt.timedelta(hours=1)), (expired, now - dt.timedelta(hours=1))):
                PatientAccessGrant.objects.create(
                    patient=patient,
                    user=who,
                    location=main,
                    reason="Patient walked in",
                    granted_at=now,
                    expires_at=expires,
                )
        scoped, written = _both(clinic_a, who)
        assert written == scoped, role
        assert {at_main.pk, seen_at_main.pk, seen_at_east.pk} <= written, role
        assert at_east.pk not in written and expired.pk not in written, role
        assert (granted.pk in written) == who.has_capability("patients.cross_branch"), role
    scoped, written = _both(clinic_a, user(clinic_a, "owner"))
    assert written == scoped and {at_main.pk, at_east.pk, granted.pk} <= written
