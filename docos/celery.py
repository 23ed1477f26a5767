"""The Celery app. Tasks carry their tenant's schema in a header (tenant-schemas-celery)."""

import os

from kombu import Queue
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")

app = CeleryApp("docos")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue binds its own routing key, so a task sent to "pdf" lands only in "pdf".
app.conf.task_queues = [
    Queue(name, routing_key=name) for name in ("default", "messaging", "pdf", "imaging", "maintenance")
]
app.conf.task_default_routing_key = "default"
app.autodiscover_tasks()
