"""Billing set-up pages: a price-list item's own prices per location, and each location's numbering
prefixes (fixed for the year once used, never shared). `billing.manage` only; a branch's manager sees
and sets only their branches."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import numbering, services
from billing.models import BillingProfile
from clinical.models import Visit
from tests.billing.billing_helpers import make_patient, price_list, set_gstin, staff
from tests.patients.branch_helpers import main_only

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def items(clinic_a, in_tenant):
    with in_tenant(clinic_a):
        return price_list(staff(clinic_a, "owner"))


def test_owner_gives_a_branch_its_own_price_and_takes_it_back(clinic_a, client_for, items, in_tenant):
    owner = client_for(clinic_a, "owner")
    east, item = clinic_a.locations[0], items["consult"]
    url = f"/billing/price-list/{item.pk}/locations/{east.pk}"
    assert owner.post(url, {"price": "650"}).status_code == 302
    with in_tenant(clinic_a):
        assert services.price_at(item, east) == Decimal("650.00")
        assert services.price_at(item, clinic_a.locations[1]) == Decimal("500.00")
    page = owner.get(f"/billing/price-list/{item.pk}/").content.decode()
    assert "650.00" in page and "(default)" in page
    owner.post(url, {"price": ""})
    with in_tenant(clinic_a):
        assert services.price_at(item, east) == Decimal("500.00")


@pytest.mark.parametrize("bad", ["six hundred", "-5", "1e400"])
def test_a_price_that_is_not_an_amount_changes_nothing_and_says_why(clinic_a, client_for, items, in_tenant, bad):
    owner = client_for(clinic_a, "owner")
    item, east = items["consult"], clinic_a.locations[0]
    response = owner.post(f"/billing/price-list/{item.pk}/locations/{east.pk}", {"price": bad}, follow=True)
    assert response.status_code == 200
    assert (
        "not an amount" in response.content.decode()
        or "cannot be negative" in response.content.decode()
        or "too large" in response.content.decode().lower()
    )
    with in_tenant(clinic_a):
        assert services.price_at(item, east) == Decimal("500.00")


def test_editing_an_item_keeps_it_and_validates_the_code(clinic_a, client_for, items, in_tenant):
    owner = client_for(clinic_a, "owner")
    item = items["dolo"]
    form = {"name": "Dolo 650 (15 tablets)", "kind": "medicine", "code": "", "sac_hsn": "30049099",
            "tax_class": "medicine_5", "default_price": "35.00", "is_active": "on"}  # fmt: skip
    assert owner.post(f"/billing/price-list/{item.pk}/", form).status_code == 302
    with in_tenant(clinic_a):
        item.refresh_from_db()
    assert item.name == "Dolo 650 (15 tablets)" and item.default_price == Decimal("35.00")
    response = owner.post(f"/billing/price-list/{item.pk}/", {**form, "sac_hsn": "12"})
    assert response.status_code == 400 and "error-summary" in response.content.decode()


def test_front_desk_cannot_open_the_set_up_pages(clinic_a, client_for, items):
    desk = client_for(clinic_a, "front_desk")
    assert desk.get(f"/billing/price-list/{items['consult'].pk}/").status_code in (403, 404)
    assert desk.get("/billing/numbering/").status_code in (403, 404)


def test_a_branch_manager_cannot_price_or_number_another_branch(clinic_a, client_for, items, in_tenant):
    manager = main_only(clinic_a, "owner")
    client = client_for(clinic_a)
    client.login_as(manager)
    east = clinic_a.locations[0]
    assert (
        client.post(f"/billing/price-list/{items['consult'].pk}/locations/{east.pk}", {"price": "1"}).status_code == 404
    )
    assert client.post(f"/billing/numbering/{east.pk}", {"invoice_prefix": "ZZ"}).status_code == 404
    page = client.get("/billing/numbering/").content.decode()
    assert "Main branch" in page and "East branch" not in page


def _prefixes(client, location, **values):
    with_defaults = {"invoice_prefix": "MB", "credit_note_prefix": "MBC", "receipt_prefix": "MBR", **values}
    return client.post(f"/billing/numbering/{location.pk}", with_defaults)


def test_prefixes_change_until_the_series_has_numbered_a_document_this_year(clinic_a, client_for, in_tenant):
    set_gstin(clinic_a)
    owner = client_for(clinic_a, "owner")
    main = clinic_a.locations[1]
    assert _prefixes(owner, main).status_code == 302
    with in_tenant(clinic_a):
        assert BillingProfile.objects.get(location=main).invoice_prefix == "MB"
        desk = staff(clinic_a, "front_desk")
        price_list(staff(clinic_a, "owner"))
        patient = make_patient(clinic_a, given_name="Farhan", family_name="Qureshi", state="Karnataka")
        visit = Visit.objects.create(patient=patient, location=main, clinician=clinic_a.users["doctor"])
        invoice = services.invoice_issue(actor=desk, invoice=services.invoice_create_for_visit(actor=desk, visit=visit))
    assert invoice.number.startswith("MB/")
    refused = _prefixes(owner, main, invoice_prefix="MAIN")
    assert refused.status_code == 400
    assert "1 numbered as MB/" in refused.content.decode() and "next April" in refused.content.decode()
    assert _prefixes(owner, main, receipt_prefix="MRCPT").status_code == 302  # no receipt numbered yet


def test_a_prefix_is_one_series_only(clinic_a, client_for, in_tenant):
    owner = client_for(clinic_a, "owner")
    east, main = clinic_a.locations
    with in_tenant(clinic_a):
        taken = numbering.profile_for(east).credit_note_prefix
    other_branch = _prefixes(owner, main, invoice_prefix=taken)
    assert other_branch.status_code == 400 and "another location" in other_branch.content.decode()
    same_location = _prefixes(owner, main, invoice_prefix="MB", receipt_prefix="MB")
    assert same_location.status_code == 400 and "must differ" in same_location.content.decode()
    lower = _prefixes(owner, main, invoice_prefix="mb!")
    assert lower.status_code == 400 and "capital letters or digits" in lower.content.decode()
