"""WhatsApp message templates: the shipped defaults, editing, submitting to Meta's template API
(over HTTP to the fake Graph API, which validates as Meta documents), syncing review results back,
previewing with a patient's data, and who may do it."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from messaging import templates, whatsapp
from messaging.models import MessageTemplate
from messaging.template_defaults import DEFAULT_TEMPLATES
from tests.appointments.helpers import make_patient, user
from tests.messaging.conftest import WABA_ID

NEW = {
    "name": "lab_report_ready",
    "language": "en",
    "category": "UTILITY",
    "body": "Namaste {{1}}, your lab report from {{2}} is ready to collect.",
    "variables": ["first_name", "clinic"],
    "examples": ["Asha", "Sunrise Clinic"],
    "buttons": [],
    "footer": "",
}


def test_every_clinic_starts_with_the_shipped_templates_in_english_and_hindi(clinic_a):
    with tenant_context(clinic_a.clinic):
        names = set(MessageTemplate.objects.values_list("name", "language"))
    assert {(row["name"], row["language"]) for row in DEFAULT_TEMPLATES} <= names
    assert ("appointment_reminder_24h", "hi") in names and ("payment_link", "en") in names


def test_the_shipped_reminder_has_the_variables_the_reminders_send(clinic_a):
    """appointments.reminders.reminder_parameters sends six values for an appointment: the template
    must have exactly six variables, or Meta refuses every reminder (132000)."""
    with tenant_context(clinic_a.clinic):
        reminder = MessageTemplate.objects.get(name="appointment_reminder_24h", language="en")
    assert reminder.variables == ["first_name", "clinician", "date", "time", "location", "clinic"]
    assert sorted(set(templates.VARIABLE_RE.findall(reminder.body))) == ["1", "2", "3", "4", "5", "6"]
    assert reminder.buttons == ["Confirm", "Cancel", "Reschedule"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": "Lab Report"}, "name"),
        ({"body": "Namaste {{1}}, see {{3}}"}, "body"),
        ({"examples": ["Asha"]}, "examples"),
        ({"variables": ["first_name"]}, "variables"),
        ({"buttons": ["A button text far longer than allowed"]}, "buttons"),
        ({"language": "xx"}, "language"),
    ],
)
def test_a_template_meta_would_refuse_is_refused_here_with_the_reason(wa_a, change, field):
    with tenant_context(wa_a.clinic):
        with pytest.raises(ValidationError) as caught:
            templates.template_save(actor=user(wa_a, "owner"), template=None, fields={**NEW, **change})
    assert field in caught.value.message_dict


def test_submit_sends_meta_the_documented_request_and_sync_brings_the_review_back(wa_a, graph):
    owner = user(wa_a, "owner")
    with tenant_context(wa_a.clinic):
        template = templates.template_save(actor=owner, template=None, fields=NEW)
        template = templates.template_submit(actor=owner, template=template)
        assert template.status == MessageTemplate.Status.PENDING and template.meta_id
    (request,) = [r for r in graph.requests if r.path.endswith("/message_templates") and r.method == "POST"]
    assert request.path == f"/v27.0/{WABA_ID}/message_templates" and request.authorization == "Bearer token-a"
    assert request.body["components"][0] == {
        "type": "BODY",
        "text": NEW["body"],
        "example": {"body_text": [["Asha", "Sunrise Clinic"]]},
    }
    graph.review("lab_report_ready", "en", "REJECTED", "INVALID_FORMAT")
    with tenant_context(wa_a.clinic):
        result = templates.templates_sync(actor=owner)
        template.refresh_from_db()
        assert (result.updated, result.imported) == (1, 0)
        assert template.status == MessageTemplate.Status.REJECTED and template.rejected_reason == "INVALID_FORMAT"
        # a rejected template is edited (back to draft) and submitted again
        template = templates.template_save(actor=owner, template=template, fields={**NEW, "body": NEW["body"] + " 🙏"})
        assert template.status == MessageTemplate.Status.DRAFT and template.rejected_reason == ""
        assert AuditEvent.objects.filter(action="whatsapp_template.submit").count() == 1


def test_meta_refusing_a_duplicate_is_shown_in_its_words(wa_a, graph):
    owner = user(wa_a, "owner")
    with tenant_context(wa_a.clinic):
        first = templates.template_save(actor=owner, template=None, fields=NEW)
        templates.template_submit(actor=owner, template=first)
        MessageTemplate.objects.filter(pk=first.pk).update(status="draft")
        first.refresh_from_db()
        with pytest.raises(ValidationError) as caught:
            templates.template_submit(actor=owner, template=first)
    assert "Message template already exists" in caught.value.messages[0]


def test_sync_follows_pages_and_adds_templates_made_in_whatsapp_manager(wa_a, graph):
    owner = user(wa_a, "owner")
    definition = whatsapp.template_definition(
        name="", language="en", category="MARKETING", body="Diwali health camp", examples=[], buttons=[]
    )
    credentials = whatsapp.Credentials(phone_number_id="1", access_token="token-a")
    for n in range(130):  # more than one page of 100
        whatsapp.template_create(credentials, WABA_ID, {**definition, "name": f"camp_{n:03d}"})
    graph.review("camp_007", "en", "APPROVED")
    with tenant_context(wa_a.clinic):
        result = templates.templates_sync(actor=owner)
        assert result.imported == 130
        assert MessageTemplate.objects.get(name="camp_007").status == MessageTemplate.Status.APPROVED
        assert MessageTemplate.objects.get(name="camp_129").status == MessageTemplate.Status.PENDING


def test_the_sync_never_sends_the_token_elsewhere(wa_a, graph, monkeypatch):
    """A `next` link that leaves the Graph API is not followed (the token would go with it)."""
    seen: list[str] = []
    real_get = whatsapp._get

    def spy(url, token, **kwargs):
        seen.append(url)
        response = real_get(url, token, **kwargs)
        response._body = response.data.replace(b'"data"', b'"paging": {"next": "https://evil.example/x"}, "data"', 1)
        return response

    monkeypatch.setattr(whatsapp, "_get", spy)
    with tenant_context(wa_a.clinic):
        templates.templates_sync(actor=user(wa_a, "owner"))
    assert all(url.startswith(graph.base_url) for url in seen)


def test_without_a_connected_account_submit_says_what_to_do(clinic_a, graph):
    with tenant_context(clinic_a.clinic):
        template = MessageTemplate.objects.get(name="prescription_ready", language="en")
        with pytest.raises(ValidationError) as caught:
            templates.template_submit(actor=user(clinic_a, "owner"), template=template)
    assert "Connect the clinic's WhatsApp Business Account first" in caught.value.messages[0]


def test_preview_fills_the_patients_first_name_and_the_clinics_name(wa_a, client_for):
    make_patient(wa_a, given_name="Kavya Sri", family_name="Hegde", phone="+919812300055")
    with tenant_context(wa_a.clinic):
        template = MessageTemplate.objects.get(name="appointment_reminder_24h", language="hi")
    owner = client_for(wa_a, "owner")
    html = owner.get(f"/settings/whatsapp/templates/{template.pk}/?patient=98123+00055").content.decode()
    assert "नमस्ते Kavya," in html and wa_a.clinic.name in html and "Dr. Vikram Rao" in html


def test_the_pages_work_for_admins_only(wa_a, client_for, graph):
    owner = client_for(wa_a, "owner")
    assert "appointment_reminder_24h" in owner.get("/settings/whatsapp/templates/").content.decode()
    created = owner.post(
        "/settings/whatsapp/templates/new/",
        {**NEW, "variables": "first_name, clinic", "examples": "Asha | Sunrise Clinic", "buttons": ""},
    )
    assert created.status_code == 302
    with tenant_context(wa_a.clinic):
        template = MessageTemplate.objects.get(name="lab_report_ready")
    assert owner.post(f"/settings/whatsapp/templates/{template.pk}/submit/").status_code == 302
    assert owner.post("/settings/whatsapp/templates/sync/").status_code == 302
    with tenant_context(wa_a.clinic):
        assert MessageTemplate.objects.get(pk=template.pk).status == MessageTemplate.Status.PENDING
    bad = owner.post("/settings/whatsapp/templates/new/", {**NEW, "name": "Bad Name", "variables": "", "examples": ""})
    assert bad.status_code == 400 and "Use lowercase letters" in bad.content.decode()
    assert owner.get(f"/settings/whatsapp/templates/{uuid.uuid4()}/").status_code == 404
    desk = client_for(wa_a, "front_desk")
    assert desk.get("/settings/whatsapp/templates/").status_code == 403
    assert desk.post(f"/settings/whatsapp/templates/{template.pk}/submit/").status_code == 403


def test_a_template_listed_twice_by_overlapping_pages_is_imported_once(wa_a, graph, monkeypatch):
    real_list = whatsapp.templates_list

    def overlapping(credentials, waba_id):
        rows = real_list(credentials, waba_id)
        return rows + rows[-1:]  # the last row again, as a page boundary that moved would repeat it

    credentials = whatsapp.Credentials(phone_number_id="1", access_token="token-a")
    whatsapp.template_create(credentials, WABA_ID, whatsapp.template_definition(**{**_definition(), "name": "camp"}))
    monkeypatch.setattr(whatsapp, "templates_list", overlapping)
    with tenant_context(wa_a.clinic):
        result = templates.templates_sync(actor=user(wa_a, "owner"))
        assert MessageTemplate.objects.filter(name="camp").count() == 1
    assert result.imported == 1


def test_a_save_that_loses_the_race_for_a_name_is_refused_with_a_sentence(wa_a, monkeypatch):
    """Two admins create the same name at once: both pass the clash check, the constraint decides."""
    with tenant_context(wa_a.clinic):
        owner = user(wa_a, "owner")
        templates.template_save(actor=owner, template=None, fields=NEW)
        no_clash = MessageTemplate.objects.none()
        monkeypatch.setattr(
            MessageTemplate.objects,
            "filter",
            lambda *a, **k: (
                no_clash if "name" in k else MessageTemplate._default_manager.get_queryset().filter(*a, **k)
            ),
        )
        with pytest.raises(ValidationError) as caught:
            templates.template_save(actor=owner, template=None, fields=NEW)
    assert "already has a template" in caught.value.message_dict["name"][0]


def _definition() -> dict:
    return {
        "name": "",
        "language": "en",
        "category": "MARKETING",
        "body": "Diwali health camp",
        "examples": [],
        "buttons": [],
    }
