"""A doctor's own prescription templates: saved from a prescription, offered on new prescriptions,
dosed by weight for a weighed child, private to their owner, deleted with an audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from clinical.models import PrescriptionTemplate
from tests.clinical.clinical_helpers import ITEM, draft_prescription, draft_visit, make_patient

CALPOL = {**ITEM, "drug_name": "Calpol 250", "strength": "250 mg/5 mL", "form": "Oral suspension", "dose": "5 mL"}


def _save(client, prescription, name, **extra):
    return client.post(f"/prescriptions/{prescription.pk}/save-as-template", {"name": name, **extra}, follow=True)


def test_doctor_saves_a_template_and_starts_a_prescription_from_it(clinic_a, client_for):
    patient = make_patient(clinic_a)
    source = draft_prescription(clinic_a, patient, general_advice="Steam inhalation twice a day.")
    client = client_for(clinic_a, "doctor")
    page = _save(client, source, "URTI adult").content.decode()
    assert "Saved as your template" in page
    with tenant_context(clinic_a.clinic):
        template = PrescriptionTemplate.objects.get(owner=clinic_a.users["doctor"])
        assert template.name == "URTI adult" and template.items[0]["drug_name"] == "Paracetamol"
        event = AuditEvent.objects.get(action="prescription_template.create", object_id=str(template.pk))
        assert "Paracetamol" not in str(event.metadata)
    assert "already have a template" in _save(client, source, "urti ADULT").content.decode()
    assert "Name the template" in _save(client, source, "  ").content.decode()

    other = make_patient(clinic_a)
    form = client.get(f"/patients/{other.pk}/prescriptions/new").content.decode()
    assert f"?template={template.pk}" in form and "URTI adult" in form
    started = client.get(f"/patients/{other.pk}/prescriptions/new", {"template": str(template.pk)}).content.decode()
    assert 'value="Paracetamol"' in started and "Steam inhalation twice a day." in started
    assert "URTI adult" in client.get("/prescription-templates/").content.decode()


@pytest.mark.usefixtures("clock")
def test_fever_child_by_weight_template_doses_each_child(clinic_a, client_for):
    client = client_for(clinic_a, "doctor")
    source = draft_prescription(clinic_a, make_patient(clinic_a), items=[CALPOL])
    _save(client, source, "Fever child by weight", dose_by_weight="on")
    with tenant_context(clinic_a.clinic):
        template = PrescriptionTemplate.objects.get(name="Fever child by weight")
        assert template.items[0]["dose"] == ""
    child = make_patient(clinic_a, date_of_birth=dt.date.today() - dt.timedelta(days=5 * 365))
    visit = draft_visit(clinic_a, child, weight_kg=Decimal("20.0"))
    page = client.get(
        f"/patients/{child.pk}/prescriptions/new", {"template": str(template.pk), "visit": str(visit.pk)}
    ).content.decode()
    assert 'value="6 mL"' in page and "15 mg/kg/dose x 20 kg" in page


def test_templates_are_private_to_their_owner(clinic_a, client_for):
    source = draft_prescription(clinic_a, make_patient(clinic_a))
    _save(client_for(clinic_a, "doctor"), source, "Mine")
    with tenant_context(clinic_a.clinic):
        template = PrescriptionTemplate.objects.get(name="Mine")
    owner = client_for(clinic_a, "owner")
    patient = make_patient(clinic_a)
    assert owner.get(f"/patients/{patient.pk}/prescriptions/new", {"template": str(template.pk)}).status_code == 404
    assert owner.post(f"/prescription-templates/{template.pk}/delete").status_code == 404
    assert "Mine" not in owner.get("/prescription-templates/").content.decode()
    assert owner.get(f"/patients/{patient.pk}/prescriptions/new", {"template": str(uuid.uuid4())}).status_code == 404
    assert client_for(clinic_a, "nurse").get("/prescription-templates/").status_code == 403


def test_owner_deletes_a_template(clinic_a, client_for):
    client = client_for(clinic_a, "doctor")
    _save(client, draft_prescription(clinic_a, make_patient(clinic_a)), "Old one")
    with tenant_context(clinic_a.clinic):
        template = PrescriptionTemplate.objects.get(name="Old one")
    assert client.post(f"/prescription-templates/{template.pk}/delete").status_code == 302
    with tenant_context(clinic_a.clinic):
        assert not PrescriptionTemplate.objects.filter(pk=template.pk).exists()
        assert AuditEvent.objects.filter(action="prescription_template.delete", object_id=str(template.pk)).exists()
    assert "No templates yet" in client.get("/prescription-templates/").content.decode()
