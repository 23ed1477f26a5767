"""The demo clinic's CT is shared by a live link that opens the study without signing in."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from imaging import demo as demo_imaging
from imaging.models import ShareLink
from tests.clinical.clinical_helpers import clinic_files, make_patient  # noqa: F401

pytestmark = pytest.mark.usefixtures("clinic_files")


def test_demo_shares_the_ct_by_a_live_link(clinic_a, client_for, clock):
    make_patient(clinic_a, given_name="Joseph", family_name="Varghese", sex="M")
    make_patient(clinic_a, given_name="Poonam", family_name="Sharma")

    demo_imaging.seed(clinic_a.clinic)

    with tenant_context(clinic_a.clinic):
        link = ShareLink.objects.select_related("study").get()
        assert link.study.modalities == ["CT"] and link.state() == "active" and link.access_count == 1
    page = client_for(clinic_a).get(f"/share/imaging/{link.token}/")
    assert page.status_code == 200
    staff_page = client_for(clinic_a, "doctor").get(f"/imaging/studies/{link.study.pk}/shares")
    assert "Second opinion" in staff_page.content.decode()
