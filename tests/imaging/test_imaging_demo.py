"""The demo seed gives two patients a study each (a CT series, an ultrasound), once, through the services."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from imaging import demo as demo_imaging
from imaging.models import Instance, Study, Upload
from tests.clinical.clinical_helpers import clinic_files, make_patient  # noqa: F401

pytestmark = pytest.mark.usefixtures("clinic_files")


def test_demo_seed_makes_a_ct_series_and_an_ultrasound_once(clinic_a, client_for):
    ct_patient = make_patient(clinic_a, given_name="Joseph", family_name="Varghese", sex="M")
    us_patient = make_patient(clinic_a, given_name="Poonam", family_name="Sharma")

    assert demo_imaging.seed(clinic_a.clinic) == {"studies": 2}

    with tenant_context(clinic_a.clinic):
        ct = Study.objects.get(patient=ct_patient)
        us = Study.objects.get(patient=us_patient)
        assert (ct.modalities, ct.series_count, ct.instance_count, ct.status) == (["CT"], 2, 13, "ready")
        assert (us.modalities, us.series_count) == (["US"], 2)
        assert Instance.objects.get(study=us, frames=30).transfer_syntax_uid == "1.2.840.10008.1.2.4.50"
        assert not any(row["outcome"] in ("error", "warning") for u in Upload.objects.all() for row in u.report)
        frame = Instance.objects.filter(study=ct).order_by("number").first()
    web = client_for(clinic_a, "doctor")
    assert web.get(f"/imaging/studies/{ct.pk}/").status_code == 200
    assert web.get(f"/imaging/images/{frame.pk}/frames/0.png").status_code == 200

    assert demo_imaging.seed(clinic_a.clinic) == {}
    with tenant_context(clinic_a.clinic):
        assert Study.objects.count() == 2
