from clinics.management.commands._status import StatusCommand
from clinics.models import Clinic


class Command(StatusCommand):
    help = "Reactivate a suspended (or closing) clinic: its staff and API get their access back."
    target_status = Clinic.Status.ACTIVE
