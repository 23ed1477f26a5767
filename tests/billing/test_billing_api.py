"""The billing API: create a draft with lines, issue, pay, credit, refund; errors and isolation."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.accounts.api_helpers import make_token
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def api(clinic_a, client_for):
    set_gstin(clinic_a)
    with tenant_context(clinic_a.clinic):
        items = price_list(staff(clinic_a, "owner"))

    def client(role):
        return client_for(clinic_a, HTTP_AUTHORIZATION=f"Bearer {make_token(clinic_a, clinic_a.users[role])}")

    patient = make_patient(clinic_a, given_name="Meenakshi", family_name="Sundaram")
    return {"client": client, "items": items, "patient": patient, "seeded": clinic_a}


def test_invoice_lifecycle_through_the_api(api):
    desk, accounts = api["client"]("front_desk"), api["client"]("accounts")
    location = api["seeded"].locations[1]
    body = {
        "patient": str(api["patient"].pk),
        "location": str(location.pk),
        "lines": [
            {"item": str(api["items"]["consult"].pk)},
            {"item": str(api["items"]["dolo"].pk), "quantity": "3", "discount": "0.80"},
            {"description": "Glucometer strip", "sac_hsn": "3822", "tax_class": "goods_18", "unit_price": "25"},
        ],
        "invoice_discount": "10",
    }
    created = desk.post("/api/v1/invoices", body, content_type="application/json")
    assert created.status_code == 201, created.content
    invoice = created.json()
    assert invoice["status"] == "draft" and invoice["number"] == "" and len(invoice["lines"]) == 3
    issued = desk.post(f"/api/v1/invoices/{invoice['id']}/issue")
    assert issued.status_code == 200 and issued.json()["number"] == "MAI/2627/0001"
    assert issued.json()["kind"] == "tax_invoice"
    again = desk.post(f"/api/v1/invoices/{invoice['id']}/issue")
    assert again.status_code == 400 and again.json()["error"]["fields"] == {
        "non_field_errors": [again.json()["error"]["fields"]["non_field_errors"][0]]
    }
    paid = desk.post(f"/api/v1/invoices/{invoice['id']}/payments", {"mode": "upi"}, content_type="application/json")
    assert paid.status_code == 201 and paid.json()["amount"] == issued.json()["total"]
    assert desk.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "paid"
    assert (
        desk.post(
            f"/api/v1/invoices/{invoice['id']}/credit-notes", {"reason": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    note = accounts.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes", {"reason": "Wrong patient"}, content_type="application/json"
    )
    assert note.status_code == 201 and note.json()["total"] == issued.json()["total"]
    refund = accounts.post(
        f"/api/v1/payments/{paid.json()['id']}/refund", {"reason": "Wrong patient"}, content_type="application/json"
    )
    assert refund.status_code == 201 and refund.json()["kind"] == "refund"
    final = desk.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert final["status"] == "cancelled" and final["paid"] == "0.00" and len(final["payments"]) == 2
    pdf = desk.get(f"/api/v1/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listed = desk.get(f"/api/v1/invoices?patient={api['patient'].pk}").json()
    assert listed["count"] == 1
    assert desk.get(f"/api/v1/payments?patient={api['patient'].pk}").json()["count"] == 2
    assert desk.get("/api/v1/price-items").json()["count"] == 4


def test_a_bad_line_names_its_field(api):
    desk = api["client"]("front_desk")
    body = {"patient": str(api["patient"].pk), "lines": [{"description": "No code", "unit_price": "10"}]}
    response = desk.post("/api/v1/invoices", body, content_type="application/json")
    assert response.status_code == 400
    assert any(name.startswith("lines.0") for name in response.json()["error"]["fields"])


def test_other_branch_invoice_is_404_and_doctor_cannot_create(api, clinic_a):
    from tests.clinical.clinical_helpers import restrict

    owner = api["client"]("owner")
    created = owner.post(
        "/api/v1/invoices",
        {"patient": str(api["patient"].pk), "location": str(clinic_a.locations[0].pk)},
        content_type="application/json",
    ).json()
    restrict(clinic_a, "front_desk", 1)
    desk = api["client"]("front_desk")
    assert desk.get(f"/api/v1/invoices/{created['id']}").status_code == 404
    assert desk.post(f"/api/v1/invoices/{created['id']}/issue").status_code == 404
    doctor = api["client"]("doctor")
    assert doctor.get(f"/api/v1/invoices/{created['id']}").status_code == 200
    response = doctor.post("/api/v1/invoices", {"patient": str(api["patient"].pk)}, content_type="application/json")
    assert response.status_code == 403
