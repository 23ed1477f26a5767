"""'Print Hindi too' defaults on when Hindi text was written and the prescriber did not say otherwise."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinical import services as clinical
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import HINDI, ITEM, make_patient, signing_doctor

ENGLISH_ONLY = {**ITEM, "instructions_hi": ""}


def _create(seeded, patient, items, **fields):
    with tenant_context(seeded.clinic):
        return clinical.prescription_create(
            patient=patient, actor=signing_doctor(seeded), location=seeded.locations[0], items=items, **fields
        )


@pytest.mark.parametrize(
    ("items", "fields", "expected"),
    [
        ([ITEM], {}, True),  # Hindi instructions on a line
        ([ENGLISH_ONLY], {"general_advice_hi": "खूब पानी पिएँ"}, True),  # Hindi advice
        ([ENGLISH_ONLY], {"general_advice_hi": "   "}, False),
        ([ENGLISH_ONLY], {}, False),  # nothing in Hindi
        ([ITEM], {"print_hindi": False}, False),  # the prescriber's explicit no
        ([ENGLISH_ONLY], {"print_hindi": True}, True),  # and explicit yes (frequencies print in Hindi too)
    ],
)
def test_print_hindi_follows_the_hindi_text_unless_stated(clinic_a, items, fields, expected):
    assert ITEM["instructions_hi"] == HINDI
    prescription = _create(clinic_a, make_patient(clinic_a), items, **fields)
    assert prescription.print_hindi is expected


def test_the_api_prints_hindi_when_hindi_was_entered_and_print_hindi_was_not_sent(clinic_a, client_for):
    patient = make_patient(clinic_a)
    auth = bearer(make_token(clinic_a, clinic_a.users["doctor"]))
    body = {"patient": str(patient.pk), "location": str(clinic_a.locations[0].pk), "items": [ITEM]}
    created = client_for(clinic_a).post("/api/v1/prescriptions", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    assert created.json()["print_hindi"] is True


def test_the_form_marks_the_box_for_the_script_that_follows_hindi_text(clinic_a, client_for):
    patient = make_patient(clinic_a)
    html = client_for(clinic_a, "doctor").get(f"/patients/{patient.pk}/prescriptions/new").content.decode()
    assert "data-hindi-default" in html
    assert "js/rx_hindi.js" in html
