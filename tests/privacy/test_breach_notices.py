"""Breach notices: drafted from the incident and edited, sent by the task through the messaging
outbox to the fake WhatsApp Graph API once per patient (a second run, or a redelivered task, sends
nothing again), and listed as printable letters for patients WhatsApp cannot reach (no number,
opted out, the template not approved, or a send that failed later)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import services
from messaging.models import MessageTemplate, OutboundMessage
from privacy import notices
from privacy.breaches import breach_add_patient
from privacy.models import AffectedPatient, BreachIncident, NoticeRun
from privacy.tasks import breach_notices_task
from tests.appointments.helpers import make_patient
from tests.messaging.conftest import graph, wa_a  # noqa: F401  (fixtures: the fake Graph API, a connected number)
from tests.privacy.breach_helpers import incident
from tests.privacy.helpers import owner


def _approve() -> None:
    notices.install_notice_template()
    MessageTemplate.objects.filter(name=notices.TEMPLATE_NAME).update(status=MessageTemplate.Status.APPROVED)


def _breach_with(seeded, patients) -> BreachIncident:
    breach = incident(seeded, discovered_at=timezone.now() - dt.timedelta(hours=2), kind="lost_device")
    for patient in patients:
        breach_add_patient(incident=breach, actor=owner(seeded), patient=patient)
    values = {name: getattr(breach, name) for name, _ in notices.SECTIONS}
    return notices.notice_update(incident=breach, actor=owner(seeded), values=values)


def _send(seeded, breach) -> NoticeRun:
    run = notices.notices_send_start(incident=breach, actor=owner(seeded))
    assert breach_notices_task.run(str(run.pk)) == "done"  # the task's body, in this clinic's schema
    run.refresh_from_db()
    return run


def _dispatch_all() -> list[str]:
    queued = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED).order_by("created_at")
    return [services.message_dispatch(message_id=str(m.pk)) for m in queued]


def _patients(seeded):
    return (
        make_patient(seeded, given_name="Asha", phone="+919812345678"),
        make_patient(seeded, given_name="Ravi", family_name="Iyer", phone="+919845012345"),
        make_patient(seeded, given_name="Meena", family_name="Pillai", whatsapp_opted_out_at=timezone.now()),
        make_patient(seeded, given_name="Kiran", family_name="Shetty", phone="", email="kiran@example.in"),
    )


def test_each_patient_gets_one_whatsapp_notice_however_often_it_is_sent(wa_a, graph, client_for):  # noqa: F811
    asha, ravi, meena, kiran = _patients(wa_a)
    with tenant_context(wa_a.clinic):
        _approve()
        breach = _breach_with(wa_a, [asha, ravi, meena, kiran])
        first = _send(wa_a, breach)
        assert (first.total, first.whatsapp, first.printable, first.already, first.progress) == (4, 2, 2, 0, 100)
        assert _dispatch_all() == ["sent", "sent"]
        second = _send(wa_a, breach)
        assert (second.whatsapp, second.printable, second.already) == (0, 2, 2)
        assert _dispatch_all() == []
        assert OutboundMessage.objects.filter(template_name=notices.TEMPLATE_NAME).count() == 2
        rows = {row.patient_id: row for row in AffectedPatient.objects.filter(incident=breach)}
        assert rows[meena.pk].notice_reason == "opted_out" and rows[kiran.pk].notice_reason == "no_contact_number"
        events = AuditEvent.objects.filter(action="privacy.breach_notices_sent", object_id=str(breach.pk))
        assert [e.metadata["whatsapp"] for e in events.order_by("seq")] == [2, 0]
        assert all("Asha" not in str(e.metadata) for e in events)
    sent = graph.sent()
    assert len(sent) == 2 and {r.body["to"] for r in sent} == {"+919812345678", "+919845012345"}
    template = sent[0].body["template"]
    assert template["name"] == "data_breach_notice"
    values = [p["text"] for p in template["components"][0]["parameters"]]
    assert values[1] == "Alpha Clinic" and values[2].startswith("What happened: On ")
    assert "\n" not in values[2] and "Contact:" in values[2]
    letters = client_for(wa_a, "owner").get(f"/settings/privacy/breaches/{breach.pk}/notice/letters/")
    page = letters.content.decode()
    assert "Dear Meena Pillai," in page and "Dear Kiran Shetty," in page and "mailto:kiran@example.in" in page
    assert "Asha Verma" not in page and "Opted out of WhatsApp messages." in page


def test_a_redelivered_task_sends_nothing_twice(wa_a, graph):  # noqa: F811
    asha = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        _approve()
        breach = _breach_with(wa_a, [asha])
        run = notices.notices_send_start(incident=breach, actor=owner(wa_a))
        notices.notices_send(run_id=str(run.pk))
        NoticeRun.objects.filter(pk=run.pk).update(status=NoticeRun.Status.RUNNING)  # as if the worker died
        notices.notices_send(run_id=str(run.pk))
        run.refresh_from_db()
        assert (run.whatsapp, run.already) == (0, 1)
        assert OutboundMessage.objects.count() == 1
        _dispatch_all()
    assert len(graph.sent()) == 1


def test_every_clinic_starts_with_the_notice_template_as_a_draft(clinic_a):
    with tenant_context(clinic_a.clinic):
        template = MessageTemplate.objects.get(name=notices.TEMPLATE_NAME, language="en")
        assert template.status == MessageTemplate.Status.DRAFT
        assert template.variables == ["first_name", "clinic", "notice"]
        assert notices.install_notice_template() == 0  # the seed is idempotent


def test_without_an_approved_template_every_notice_is_a_letter(wa_a, graph):  # noqa: F811
    asha = make_patient(wa_a)
    with tenant_context(wa_a.clinic):
        breach = _breach_with(wa_a, [asha])
        run = _send(wa_a, breach)
        assert (run.whatsapp, run.printable) == (0, 1)
        assert AffectedPatient.objects.get(incident=breach).notice_reason == notices.NOT_APPROVED
        assert not OutboundMessage.objects.exists()
        _approve()
        run = _send(wa_a, breach)  # once approved, the letter-only patients are tried on WhatsApp
        assert (run.whatsapp, run.printable) == (1, 0)
        assert _dispatch_all() == ["sent"]
    assert len(graph.sent()) == 1


def test_a_notice_whatsapp_refused_later_goes_to_the_letters(wa_a, graph):  # noqa: F811
    asha = make_patient(wa_a)
    graph.fail_recipient("+919812345678", 131026)  # message undeliverable
    with tenant_context(wa_a.clinic):
        _approve()
        breach = _breach_with(wa_a, [asha])
        _send(wa_a, breach)
        assert _dispatch_all() == ["failed"]
        row = AffectedPatient.objects.get(incident=breach)
        assert row.notice_channel == "print" and row.notice_reason == "131026"
        assert notices.print_rows(breach) == [row]


def test_the_notice_needs_every_part_and_must_fit_one_whatsapp_message(clinic_a):
    with tenant_context(clinic_a.clinic):
        breach = incident(clinic_a, discovered_at=timezone.now(), kind="misdirected")
        assert breach.notice_happened.startswith("On ") and "sent to the wrong person" in breach.notice_happened
        values = {name: getattr(breach, name) for name, _ in notices.SECTIONS}
        with pytest.raises(ValidationError) as missing:
            notices.notice_update(incident=breach, actor=owner(clinic_a), values={**values, "notice_steps": " "})
        assert "notice_steps" in missing.value.message_dict
        with pytest.raises(ValidationError, match="must fit in"):
            notices.notice_update(
                incident=breach, actor=owner(clinic_a), values={**values, "notice_data": "word " * 250}
            )
        with pytest.raises(ValidationError, match="save the notice"):
            notices.notices_send_start(incident=breach, actor=owner(clinic_a))
