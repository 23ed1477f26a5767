"""`manage.py platform_subscriptions [--days N]`: the platform operators' view of DocOS subscriptions:
plans, every clinic's plan, Razorpay state, DocOS access and seats, and recent failed payments.
The same selectors (clinics.platform_selectors) feed the web console at /platform/ on the public domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from clinics.platform_selectors import platform_overview


class Command(BaseCommand):
    help = "List plans, each clinic's subscription state and access, and recent failed payments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="failed payments of the last N days (default 30)")

    def handle(self, *args: Any, **options: Any) -> None:
        since = timezone.now() - dt.timedelta(days=max(1, int(options["days"])))
        data = platform_overview(failed_since=since)
        self.stdout.write("Plans")
        for code, name, period, basis, price, active, live in data["plans"]:
            self.stdout.write(
                f"  {code:<20} {name:<36} {period:<8} {basis:<12} ₹{price:>10}  live {live:<4}"
                f"{'' if active else '  (retired)'}"
            )
        self.stdout.write("Clinics")
        for row in data["clinics"]:
            charge = timezone.localtime(row["next_charge"]).strftime("%d %b %Y") if row["next_charge"] else "-"
            self.stdout.write(
                f"  {row['clinic']:<24} {row['plan'] or '-':<20} {row['status']:<14} {row['access'] or '-':<10} "
                f"seats {row['seats']:<4} in use {'-' if row['seats_in_use'] is None else row['seats_in_use']:<4} "
                f"next charge {charge}"
            )
        self.stdout.write(f"Failed payments (last {options['days']} days)")
        if not data["failed_payments"]:
            self.stdout.write("  none")
        for item in data["failed_payments"]:
            when = timezone.localtime(item["at"]).strftime("%d %b %Y %H:%M")
            self.stdout.write(
                f"  {item['clinic']:<24} {item['payment']:<22} ₹{item['amount']:>10} {when}  {item['reason']}"
            )
