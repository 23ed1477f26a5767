"""Inbound media per Meta's contract: the webhook's media id, GET /{media-id}, the download with the
token, stored encrypted with the clinic's key, shown in the conversation, downloaded through access checks."""

from __future__ import annotations

import hashlib
import time
import uuid

from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from audit.models import AuditEvent
from docos.storage import read_raw
from messaging import media
from messaging.models import InboundMessage
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import PATIENT_WA_ID, PHONE_ID_A, deliver, envelope

PDF = b"%PDF-1.4\n% Blood report of Asha Verma: HbA1c 7.9%\n%%EOF\n"


def media_payload(wamid, kind, media_id, *, mime="application/pdf", caption="", filename="", sha256=""):
    item = {"id": media_id, "mime_type": mime, "sha256": sha256 or hashlib.sha256(PDF).hexdigest()}
    if caption:
        item["caption"] = caption
    if filename:
        item["filename"] = filename
    message = {"from": PATIENT_WA_ID, "id": wamid, "timestamp": str(int(time.time())), "type": kind, kind: item}
    contact = {"profile": {"name": "Asha Verma"}, "wa_id": PATIENT_WA_ID}
    return envelope(PHONE_ID_A, {"contacts": [contact], "messages": [message]})


def _received(seeded, graph, *, kind="document", data=PDF, mime="application/pdf", **extra):
    media_id = graph.add_media(data, mime, phone_number_id=PHONE_ID_A)
    payload = media_payload(f"wamid.{uuid.uuid4().hex}", kind, media_id, mime=mime, **extra)
    deliver(payload)
    deliver(payload)  # redelivered: stored once
    with tenant_context(seeded.clinic):
        return InboundMessage.objects.get(media_id=media_id), media_id


def _fetch(seeded, message):
    with tenant_context(seeded.clinic):
        outcome = media.inbound_media_fetch(message_id=str(message.pk))
        message.refresh_from_db()
    return outcome


def test_a_document_is_downloaded_through_the_graph_api_and_stored_encrypted(wa_a, graph, clock):
    make_patient(wa_a)
    message, media_id = _received(wa_a, graph, caption="Meri report", filename="HbA1c-Asha.pdf")
    assert (message.kind, message.body, message.media_status) == ("document", "Meri report", "pending")
    assert message.media_filename == "HbA1c-Asha.pdf"
    assert _fetch(wa_a, message) == "stored"
    assert (message.media_status, message.media_size, message.media_content_type) == (
        "stored",
        len(PDF),
        "application/pdf",
    )
    assert message.media_sha256 == hashlib.sha256(PDF).hexdigest()
    assert b"Asha" not in read_raw(message.media_storage_name)  # encrypted at rest
    gets = [r for r in graph.requests if r.method == "GET"]
    assert gets[0].path == f"/v27.0/{media_id}?phone_number_id={PHONE_ID_A}"
    assert gets[1].path.startswith(f"/_fake/media/{media_id}?")
    assert all(r.authorization == "Bearer token-a" for r in gets)
    assert _fetch(wa_a, message) == "skipped"  # idempotent: nothing fetched again
    assert len([r for r in graph.requests if r.method == "GET"]) == 2
    with tenant_context(wa_a.clinic):
        assert AuditEvent.objects.get(action="message.media_store").metadata["size"] == len(PDF)
    connection.set_schema_to_public()


def test_a_temporary_failure_is_retried_and_an_unknown_media_id_fails(wa_a, graph, clock):
    message, _ = _received(wa_a, graph, kind="image", mime="image/jpeg")
    graph.script(status=503, code=131016)
    assert _fetch(wa_a, message) == "retry"
    assert (message.media_status, message.media_error) == ("pending", "131016")
    assert _fetch(wa_a, message) == "stored"
    graph.reset()
    lost, _ = _received(wa_a, graph, kind="audio", mime="audio/ogg")
    graph.state.media.clear()
    assert _fetch(wa_a, lost) == "failed"
    assert (lost.media_status, lost.media_error) == ("failed", "100")


def test_a_file_over_the_size_limit_is_refused_without_storing_it(wa_a, graph, settings, clock):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 16
    message, _ = _received(wa_a, graph)
    assert _fetch(wa_a, message) == "failed"
    assert (message.media_status, message.media_error, message.media_storage_name) == (
        "failed",
        "media_too_large",
        "",
    )
    assert len([r for r in graph.requests if r.method == "GET"]) == 1  # refused from the announced size


def test_staff_download_the_media_through_the_conversation_access_rules(wa_a, graph, client_for, clock):
    make_patient(wa_a, registered_location=wa_a.locations[0])
    message, _ = _received(wa_a, graph, filename="report.pdf")
    _fetch(wa_a, message)
    page = client_for(wa_a, "front_desk").get(f"/inbox/{message.contact_id}/").content.decode()
    assert f"/inbox/media/{message.pk}/" in page and "report.pdf" in page
    response = client_for(wa_a, "front_desk").get(f"/inbox/media/{message.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert 'filename="report.pdf"' in response["Content-Disposition"]
    with tenant_context(wa_a.clinic):
        assert AuditEvent.objects.filter(action="message.media_download").count() == 1
        other = User.objects.create_user(
            "main-desk@alpha.example.in", "correct-horse-battery-42", role=Role.objects.get(slug="front_desk")
        )
        other.locations.set([wa_a.locations[1]])
    assert client_for(wa_a).login_as(other).get(f"/inbox/media/{message.pk}/").status_code == 404
    assert client_for(wa_a, "nurse").get(f"/inbox/media/{message.pk}/").status_code == 403
