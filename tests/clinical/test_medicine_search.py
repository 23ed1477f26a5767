"""The prescription line's medicine search: the clinic's own (learned) formulary first, then the
reference formulary's brands and generics with their unverified marks; page endpoint and API."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinical.selectors import medicine_search
from tests.accounts.api_helpers import assert_error
from tests.clinical.clinical_helpers import ITEM, clinic_files, make_patient, signed_prescription  # noqa: F401  (fixture)


@pytest.mark.usefixtures("clinic_files")
def test_clinic_drugs_come_first_then_reference_ones_without_repeats(clinic_a, client_for):
    signed_prescription(
        clinic_a, make_patient(clinic_a), items=[{**ITEM, "drug_name": "Dolo 650", "strength": "650 mg"}]
    )
    results = client_for(clinic_a, "doctor").get("/formulary/search", {"q": "Dol"}).json()["results"]
    first = results[0]
    assert (first["source"], first["name"], first["frequency"]) == ("clinic", "Dolo 650", "1-0-1")
    assert first["id"] and first["generic"] == "Paracetamol"
    reference = results[1:]
    assert reference and all(r["source"] == "reference" and r["id"] == "" for r in reference)
    assert all(r["verified"] is False for r in reference)
    assert not any(r["name"] == "Dolo 650" and r["form"] == "Tablet" for r in reference)  # the clinic's copy only
    assert {"Dolo 250", "Dolo 500"} <= {r["name"] for r in reference}


def test_reference_results_fill_strength_form_and_route(clinic_a):
    with tenant_context(clinic_a.clinic):
        options = medicine_search("Augmentin 625")
    assert options[0].name == "Augmentin 625 Duo"
    assert (options[0].strength, options[0].form, options[0].route) == ("500 mg + 125 mg", "Tablet", "Oral")


def test_prescription_form_explains_the_reference_formulary(clinic_a, client_for):
    page = client_for(clinic_a, "doctor").get(f"/patients/{make_patient(clinic_a).pk}/prescriptions/new")
    assert "unverified" in page.content.decode()


def test_api_medicine_search(clinic_a, client_for):
    client = client_for(clinic_a, "doctor")
    page = client.get("/api/v1/medicines", {"q": "Azithromicin"}).json()
    assert page["count"] >= 4 and page["results"][0]["generic"].startswith("Azithromycin")
    assert page["results"][0]["verified"] is False and page["results"][0]["source"] == "reference"
    assert_error(client.get("/api/v1/medicines", {"q": "a"}), 400, "invalid")
    assert client_for(clinic_a, "pharmacist").get("/api/v1/medicines", {"q": "Dolo"}).status_code == 403
