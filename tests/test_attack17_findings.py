"""Defects found by attacking this session's code from outside (one test per defect)."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from messaging import retention, templates
from messaging.models import Contact, MessageTemplate
from messaging.template_defaults import DEFAULT_TEMPLATES
from tests.appointments.helpers import make_patient, user
from tests.messaging.conftest import graph, wa_a  # noqa: F401  (the WhatsApp fixtures, for the inbox tests)
from tests.messaging.test_inbox import _write
from tests.messaging.test_retention import DAY, NOW, _contact, _inbound, _outbound
from tests.messaging.test_templates import NEW
from tests.patients.branch_helpers import PASSWORD


def test_a_template_body_that_starts_or_ends_with_a_variable_is_refused_like_meta_does(clinic_a):
    """Meta refuses a template whose body starts or ends with a variable; the console let such a
    draft through, and the shipped payment_link (en and hi) ended with {{4}}, so Meta would have
    refused it on submit."""
    for row in DEFAULT_TEMPLATES:
        body = row["body"].strip()
        assert not re.match(r"\{\{\d+\}\}", body) and not re.search(r"\{\{\d+\}\}$", body), row
    with tenant_context(clinic_a.clinic):
        shipped = MessageTemplate.objects.get(name="payment_link", language="hi")
        assert not templates.variable_at_an_end(shipped.body)
        for body in ("{{1}}, your report from {{2}} is ready.", "Namaste {{1}}, pay here: {{2}}", "Pay: {{2}} {{1}}  "):
            with pytest.raises(ValidationError) as caught:
                templates.template_save(actor=user(clinic_a, "owner"), template=None, fields={**NEW, "body": body})
            assert "body" in caught.value.message_dict, body


def _keep_when_blanking(monkeypatch, contact: Contact) -> None:
    """Staff mark the conversation "Keep" after the batch chose its rows and before it blanks them
    (the batch takes no row locks: nothing stops that commit landing in between)."""
    real_now = retention.timezone.now
    seen = {"done": False}

    def now():
        if not seen["done"]:
            seen["done"] = True
            Contact.objects.filter(pk=contact.pk).update(retained_at=NOW)
        return real_now()

    monkeypatch.setattr(retention.timezone, "now", now)


def test_a_conversation_kept_while_a_batch_runs_is_not_purged(clinic_a, monkeypatch):
    with tenant_context(clinic_a.clinic):
        patient = make_patient(clinic_a)
        contact = _contact(patient=patient)
        message = _inbound(contact, 200 * DAY, "keep-race")
        _keep_when_blanking(monkeypatch, contact)
        retention.purge_inbound(NOW, 100, retention.Cursor())
        message.refresh_from_db()
        assert message.purged_at is None and message.body == "Mera BP 150/95 hai"


def test_an_outbound_message_of_a_conversation_kept_while_a_batch_runs_is_not_purged(clinic_a, monkeypatch):
    with tenant_context(clinic_a.clinic):
        patient = make_patient(clinic_a)
        contact = _contact(patient=patient)
        message = _outbound(contact, 200 * DAY, "keep-race-out", patient=patient)
        _keep_when_blanking(monkeypatch, contact)
        retention.purge_outbound(NOW, 100, retention.Cursor())
        message.refresh_from_db()
        assert message.purged_at is None and message.body == "Aapki report taiyar hai"


def test_linking_a_conversation_needs_the_patients_view_capability_too(wa_a, client_for, clock):  # noqa: F811
    """The page offers linking only to staff who may send AND see patients; the link action checked
    only the send capability, so a custom role without patients.view could post a patient id and
    read back the patient's name and MRN (and put the conversation on their chart)."""
    stranger = _write(wa_a, "wamid.NV1", wa_id="919800000066", name="Unknown")
    patient = make_patient(wa_a, given_name="Kavya", family_name="Hegde", phone="+919800000012")
    with tenant_context(wa_a.clinic):
        role = Role.objects.create(
            slug="wa-only", name="WhatsApp only", capabilities=["messaging.view", "messaging.send"]
        )
        agent = User.objects.create_user("wa-only@alpha.example.in", PASSWORD, full_name="WA Agent", role=role)
    client = client_for(wa_a).login_as(agent)
    assert "Who is this?" not in client.get(f"/inbox/{stranger.pk}/").content.decode()
    response = client.post(f"/inbox/{stranger.pk}/link/", {"patient": str(patient.pk)})
    assert response.status_code == 403
    assert "Hegde" not in response.content.decode()
    with tenant_context(wa_a.clinic):
        assert Contact.objects.get(pk=stranger.pk).patient_id is None


def test_a_variable_written_with_devanagari_digits_is_not_taken_for_a_variable(clinic_a):
    """A Hindi keyboard types {{१}}: Python's \\d took it for variable 1, so the draft was saved with a
    variable (and previewed filled in) while Meta reads plain text with no variable, refusing the
    example or, once approved, every send that passes a value (132000)."""
    fields = {**NEW, "language": "hi", "body": "नमस्ते {{१}}, {{२}} में आपकी रिपोर्ट तैयार है।"}
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError) as caught:
            templates.template_save(actor=user(clinic_a, "owner"), template=None, fields=fields)
    assert "body" in caught.value.message_dict
