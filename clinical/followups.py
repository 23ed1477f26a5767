"""Follow-ups that are due: signed visits whose follow-up date has come (within the last two weeks)
and whose patient has not been seen again since. A doctor sees their own; others see every
follow-up at the branches they work at."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from accounts.selectors import is_clinician
from clinical.models import Visit
from clinical.selectors import visits_visible_to

# Older follow-ups than this are history, not a call to make today.
FOLLOW_UP_WINDOW_DAYS = 14


def follow_ups_due(*, user: User, today: dt.date) -> QuerySet[Visit]:
    seen_since = Visit.objects.filter(patient_id=OuterRef("patient_id"), visit_at__gt=OuterRef("visit_at"))
    visits = visits_visible_to(user).filter(
        status=Visit.Status.SIGNED,
        follow_up_date__lte=today,
        follow_up_date__gte=today - dt.timedelta(days=FOLLOW_UP_WINDOW_DAYS),
        patient__is_active=True,
    )
    if is_clinician(user):
        visits = visits.filter(clinician=user)
    return visits.exclude(Exists(seen_since)).order_by("follow_up_date", "visit_at", "pk")
