"""Services receive an AuditContext (address, user agent, request id), never the request."""

from __future__ import annotations

from django.test import RequestFactory

from audit.context import AuditContext, audit_context
from audit.models import AuditEvent
from audit.services import audit_record


def test_the_context_carries_address_agent_and_a_request_id_shared_by_the_request():
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox\x00 on Android")
    first, second = audit_context(request), audit_context(request)
    assert (first.ip, first.user_agent) == ("203.0.113.9", "Firefox on Android")
    assert first.request_id and first.request_id == second.request_id


def test_a_sane_x_request_id_from_the_proxy_is_kept_and_a_strange_one_replaced():
    kept = audit_context(RequestFactory().get("/", HTTP_X_REQUEST_ID="edge-7f3a.42"))
    assert kept.request_id == "edge-7f3a.42"
    replaced = audit_context(RequestFactory().get("/", HTTP_X_REQUEST_ID="<script>"))
    assert replaced.request_id != "<script>" and replaced.request_id.isalnum()


def test_the_audit_row_records_the_context_and_its_mac_covers_the_request_id(clinic_a, in_tenant):
    from audit.services import row_hash

    context = AuditContext(ip="198.51.100.7", user_agent="curl/8", request_id="req-1")
    with in_tenant(clinic_a):
        event = audit_record(actor=clinic_a.users["owner"], action="test.context", context=context)
        stored = AuditEvent.objects.get(seq=event.seq)
        assert (stored.ip, stored.user_agent, stored.request_id) == ("198.51.100.7", "curl/8", "req-1")
        assert row_hash(stored) == stored.row_hash
        stored.request_id = "req-2"
        assert row_hash(stored) != stored.row_hash
