from django.core.management.base import CommandParser

from clinics.management.commands._status import StatusCommand
from clinics.models import Clinic


class Command(StatusCommand):
    help = (
        "Suspend a clinic: its staff see an 'account suspended' page and its API answers 403 until "
        "`clinic_activate`. No data is deleted."
    )
    target_status = Clinic.Status.SUSPENDED

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--reason", default="", help="Short operator note for the audit log (no patient data)")
