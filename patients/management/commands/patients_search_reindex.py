from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from patients.services import REINDEX_BATCH, patient_search_keys_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the patient search keys (phonetic name keys, word and spelled prefixes) and rebuild the typo "
        "vocabulary, for every clinic or one. Needed only after the key rules in patients/search.py change "
        "(a migration normally does it); safe to run at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", metavar="SLUG", help="Only this clinic")
        parser.add_argument("--batch-size", type=int, default=REINDEX_BATCH, help="Patients read per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        Clinic = get_tenant_model()
        clinics = Clinic.objects.exclude(schema_name=get_public_schema_name()).order_by("slug")
        if options["clinic"]:
            clinics = clinics.filter(slug=options["clinic"])
            if not clinics.exists():
                raise CommandError(f"No clinic has the address {options['clinic']!r}.")
        for clinic in clinics:
            with schema_context(clinic.schema_name):
                changed = patient_search_keys_rebuild(batch_size=max(1, options["batch_size"]))
            self.stdout.write(f"{clinic.slug}: search keys of {changed} patient(s) recomputed")
