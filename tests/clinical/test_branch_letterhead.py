"""A document prints the issuing branch's own address, phone, GSTIN and registration: a
prescription written at one branch never carries another branch's (or the head office's) address."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Location
from accounts.services import location_update
from clinical.services import prescription_pdf_read
from docos.gstin import gstin_check_digit
from tests.clinical.clinical_helpers import (
    clinic_files,  # noqa: F401  (fixture)
    make_patient,
    pdf_text,
    signed_prescription,
    signing_doctor,
)

pytestmark = pytest.mark.usefixtures("clinic_files")

HEAD_OFFICE = "14, 80 Feet Road, Koramangala 4th Block, Bengaluru 560034"
EAST = "221, 100 Feet Road, Indiranagar, Bengaluru 560038"
EAST_GSTIN = "29AAGCS1234K2Z" + gstin_check_digit("29AAGCS1234K2Z")


def _pdf_of(seeded, *, location: int) -> str:
    patient = make_patient(seeded, given_name="Lakshmi", family_name="Rao")
    prescription = signed_prescription(seeded, patient, location=location)
    with tenant_context(seeded.clinic):
        return pdf_text(prescription_pdf_read(prescription=prescription, actor=signing_doctor(seeded)))


@pytest.fixture
def branches(clinic_a):
    clinic = clinic_a.clinic
    clinic.billing_address = HEAD_OFFICE
    clinic.save(update_fields=["billing_address"])
    with tenant_context(clinic):
        east = Location.objects.get(pk=clinic_a.locations[0].pk)  # the fixture's object outlives rollbacks
        location_update(
            location=east,
            actor=clinic_a.users["owner"],
            address=EAST,
            phone="+918049876543",
            gstin=EAST_GSTIN.lower(),
            registration_number="KPME/BBMP/2023/11862",
        )
        east.refresh_from_db()
        assert east.gstin == EAST_GSTIN  # stored upper-case
    return clinic_a


def test_prescription_prints_the_issuing_branch_details(branches):
    text = _pdf_of(branches, location=0)
    assert "221, 100 Feet Road, Indiranagar" in text
    assert "+918049876543" in text.replace(" ", "")
    assert f"GSTIN {EAST_GSTIN}" in text
    assert "KPME/BBMP/2023/11862" in text
    assert "Koramangala" not in text


def test_a_branch_without_an_address_never_prints_another_ones(branches):
    text = _pdf_of(branches, location=1)
    assert "Koramangala" not in text and "Indiranagar" not in text
    assert "KPME" not in text


def test_the_only_branch_without_an_address_prints_the_clinic_address(branches):
    with tenant_context(branches.clinic):
        Location.objects.filter(pk=branches.locations[0].pk).update(is_active=False)
    text = _pdf_of(branches, location=1)
    assert "14, 80 Feet Road, Koramangala" in text


def test_a_wrong_branch_gstin_is_refused_with_a_reason(branches, client_for):
    client = client_for(branches, "owner")
    location = branches.locations[1]
    response = client.post(
        f"/settings/locations/{location.pk}/",
        {"name": location.name, "timezone": "Asia/Kolkata", "gstin": EAST_GSTIN[:-1] + "0"},
    )
    assert response.status_code == 200
    assert "check digit is wrong" in response.content.decode()
    with tenant_context(branches.clinic):
        assert Location.objects.get(pk=location.pk).gstin == ""
