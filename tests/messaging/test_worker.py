"""End to end through a real Celery worker: the outbox dispatches over HTTP to the fake Graph API,
and a signed status webhook is processed by the worker into the clinic that owns the number."""

from __future__ import annotations

import random
from typing import Any

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from messaging import services
from messaging.models import OutboundMessage
from patients.models import Patient
from tests.messaging.conftest import connect, post_webhook, status_payload


def _message(clinic: Any, django_db_blocker: Any, pk: Any) -> OutboundMessage:
    with django_db_blocker.unblock(), tenant_context(clinic.clinic):
        message = OutboundMessage.objects.get(pk=pk)
    connection.set_schema_to_public()
    return message


def test_a_message_goes_out_through_the_worker_and_its_receipt_comes_back(
    celery_worker, throwaway_clinic, django_db_blocker, fake_graph
):
    from django.utils import timezone

    phone_number_id = str(random.randint(10**14, 10**15 - 1))
    with django_db_blocker.unblock():
        connect(throwaway_clinic, phone_number_id, token="worker-token")
        with tenant_context(throwaway_clinic.clinic):
            patient = Patient.objects.create(
                mrn="W-1", given_name="Asha", family_name="Verma", sex="F", phone="+919812345001",
                registered_location=throwaway_clinic.locations[0], whatsapp_consent_at=timezone.now(),
                whatsapp_consent_source="registration",
            )  # fmt: skip
            with transaction.atomic():  # the caller's business transaction: the worker starts after commit
                message = services.message_send_template(
                    patient=patient, template_name="appointment_reminder", language="en", parameters=["Asha"],
                    idempotency_key="worker-1",
                )  # fmt: skip
        connection.set_schema_to_public()
    celery_worker.wait_until(lambda: _message(throwaway_clinic, django_db_blocker, message.pk).status == "sent")
    sent = _message(throwaway_clinic, django_db_blocker, message.pk)
    (request,) = [r for r in fake_graph.sent() if r.body.get("to") == "+919812345001"]
    assert request.path == f"/v27.0/{phone_number_id}/messages" and request.authorization == "Bearer worker-token"
    assert sent.vendor_message_id == request.message_id
    with django_db_blocker.unblock():
        response = post_webhook(status_payload(phone_number_id, sent.vendor_message_id, "delivered"))
    assert response.status_code == 200
    celery_worker.wait_until(lambda: _message(throwaway_clinic, django_db_blocker, message.pk).status == "delivered")
    assert _message(throwaway_clinic, django_db_blocker, message.pk).pricing_category == "utility"


def test_the_nightly_retention_run_purges_old_texts_through_the_worker(
    celery_worker, throwaway_clinic, django_db_blocker
):
    """The beat entry's task fans out one retention task per clinic onto the maintenance queue;
    the worker runs it in the clinic's schema and the purge log records it."""
    import datetime as dt

    from django.utils import timezone

    from audit.models import PurgeRun
    from clinics.tasks import retention_beat_task
    from messaging.models import Contact, InboundMessage

    with django_db_blocker.unblock():
        with tenant_context(throwaway_clinic.clinic):
            contact = Contact.objects.create(wa_id="919812345002")
            old = InboundMessage.objects.create(
                contact=contact, vendor_message_id="wamid.retention-old", kind="text", body="Purana sandesh",
                sent_at=timezone.now() - dt.timedelta(days=120),
            )  # fmt: skip
        connection.set_schema_to_public()
        retention_beat_task.delay()

    def purged() -> bool:
        with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
            done = InboundMessage.objects.filter(pk=old.pk, purged_at__isnull=False).exists()
        connection.set_schema_to_public()
        return done

    celery_worker.wait_until(purged)
    with django_db_blocker.unblock(), tenant_context(throwaway_clinic.clinic):
        run = PurgeRun.objects.order_by("-started_at").first()
        assert run is not None and run.counts["messaging.inbound"] == 1
    connection.set_schema_to_public()
