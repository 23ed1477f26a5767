"""The clinical panel of the home dashboard: unsigned drafts and follow-ups due."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_clinician
from clinical.followups import follow_ups_due
from clinical.models import Prescription, Visit
from clinical.selectors import prescriptions_visible_to, visits_visible_to
from docos.dashboard import Panel, PanelRow, Tile


def clinical_panel(user: User) -> Panel | None:
    if not (user.has_capability("clinical.edit") or user.has_capability("prescriptions.write")):
        return None  # drafts and follow-ups are the work of those who write the record
    own = is_clinician(user)
    tiles: list[Tile] = []
    if user.has_capability("clinical.view"):
        drafts = visits_visible_to(user).filter(status=Visit.Status.DRAFT)
        if own:
            drafts = drafts.filter(clinician=user)
        tiles.append(
            Tile("Unsigned visit notes", drafts.count(), f"{reverse('clinical-visit-list')}?status=draft", True)
        )
    if user.has_capability("prescriptions.view"):
        rx_drafts = prescriptions_visible_to(user).filter(status=Prescription.Status.DRAFT)
        if own:
            rx_drafts = rx_drafts.filter(prescriber=user)
        tiles.append(
            Tile(
                "Unsigned prescriptions",
                rx_drafts.count(),
                f"{reverse('clinical-prescription-list')}?status=draft",
                True,
            )
        )
    if user.has_capability("clinical.view"):
        due = follow_ups_due(user=user, today=timezone.localdate()).count()
        tiles.append(Tile("Follow-ups due", due, reverse("clinical-follow-ups"), True))
    return Panel(
        title="Your clinical work" if own else "Clinical work",
        rows=[PanelRow("", tiles)],
        order=20,
        empty="Nothing waiting: no unsigned drafts and no follow-ups due.",
    )
