from typing import Any

from django.core.management.base import BaseCommand

from clinics.demo import demo_banner, demo_seed


class Command(BaseCommand):
    help = "Create the demo clinic (staff of every role, sample data) unless it already exists."

    def handle(self, *args: Any, **options: Any) -> None:
        clinic, created = demo_seed()
        self.stdout.write(self.style.SUCCESS("Created the demo clinic." if created else "Demo clinic already exists."))
        self.stdout.write(demo_banner(clinic))
