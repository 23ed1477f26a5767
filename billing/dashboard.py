"""The home dashboard's "Today's collections" panel: money taken today per location and mode."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import locations_for
from billing.access import invoices_visible_to, payments_visible_to
from billing.gst import indian_grouping
from billing.models import Invoice, Payment
from billing.services import local_today, location_today_range
from docos.dashboard import Panel, PanelRow, Tile


def collections_panel(user: User) -> Panel | None:
    if not user.has_capability("billing.view"):
        return None
    tiles: list[Tile] = []
    notes: list[str] = []
    day_book = reverse("billing-day-book")
    payments = payments_visible_to(user).exclude(mode=Payment.Mode.ADVANCE)
    open_invoices = invoices_visible_to(user).filter(status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTLY_PAID])
    for location in locations_for(user):
        start, end = location_today_range(location, local_today(location))
        todays = payments.filter(location=location, received_at__gte=start, received_at__lt=end)
        by_mode = {
            row["mode"]: row
            for row in todays.exclude(kind=Payment.Kind.REFUND).values("mode").annotate(n=Count("id"), s=Sum("amount"))
        }
        refunded = todays.filter(kind=Payment.Kind.REFUND).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        received = sum((row["s"] for row in by_mode.values()), Decimal("0"))
        unpaid = open_invoices.filter(location=location).count()
        tiles += [
            Tile(
                _("payments today at %(location)s") % {"location": location.name},
                sum(row["n"] for row in by_mode.values()),
                f"{day_book}?location={location.pk}",
            ),
            Tile(
                _("invoices with dues at %(location)s") % {"location": location.name},
                unpaid,
                reverse("billing-outstanding"),
                True,
            ),
        ]
        modes = " · ".join(
            f"{Payment.Mode(mode).label} ₹{indian_grouping(row['s'])}" for mode, row in sorted(by_mode.items())
        )
        net = received - refunded
        note = f"{location.name}: ₹{indian_grouping(net)} collected today"
        if modes:
            note += f" ({modes}"
            note += f"; refunds ₹{indian_grouping(refunded)})" if refunded else ")"
        notes.append(note)
    return Panel(
        title=_("Today's collections"),
        rows=[PanelRow("", tiles)],
        order=40,
        link=(_("Day book"), day_book),
        notes=notes,
    )
