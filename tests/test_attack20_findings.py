"""Findings of an outside review of imaging and restriction, each fixed; every test states the expected
behaviour and failed before its fix."""

from __future__ import annotations

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context
from pydicom.uid import RLELossless

from appointments.selectors import patient_lookup
from audit.models import AuditEvent
from imaging import render, share
from imaging.models import Instance, ShareLink, Study
from patients import access
from patients.services import patient_restrict
from tests.accounts.api_helpers import bearer, make_token
from tests.clinical.clinical_helpers import clinic_files, make_patient, staff  # noqa: F401
from tests.imaging.imaging_helpers import shipped, synthetic_ct, upload_files
from tests.patients.branch_helpers import branch_patient, main_only

pytestmark = pytest.mark.usefixtures("clinic_files")


def _ct_study(seeded):
    patient = make_patient(seeded, given_name="Kavya", family_name="Iyer")
    upload_files(seeded, patient, [("CT_small.dcm", shipped("CT_small.dcm"))])
    with tenant_context(seeded.clinic):
        return Study.objects.select_related("patient").get(patient=patient)


def _restrict(seeded, patient):
    with tenant_context(seeded.clinic):
        patient_restrict(patient=patient, actor=staff(seeded, "owner"), reason="Erasure request PR-7; records kept")


# --- 1. A restriction left the patient's imaging share links working --------------------------------


def test_restricting_a_patient_revokes_their_live_share_links_and_audits_it(clinic_a, client_for):
    study = _ct_study(clinic_a)
    with tenant_context(clinic_a.clinic):
        link, secret = share.share_create(study=study, actor=staff(clinic_a, "doctor"))
    visitor = client_for(clinic_a)
    assert visitor.get(f"/share/imaging/{secret}/").status_code == 200

    _restrict(clinic_a, study.patient)

    assert visitor.get(f"/share/imaging/{secret}/").status_code in (404, 410)
    assert visitor.get(f"/share/imaging/{secret}/manifest").status_code == 404
    with tenant_context(clinic_a.clinic):
        assert ShareLink.objects.get(pk=link.pk).revoked_at is not None
        event = AuditEvent.objects.get(action="imaging.share.revoke", object_id=str(link.pk))
        assert event.metadata["reason"] == "patient_restricted"


def test_a_restricted_patients_study_cannot_be_shared(clinic_a):
    study = _ct_study(clinic_a)
    _restrict(clinic_a, study.patient)
    with tenant_context(clinic_a.clinic):
        study = Study.objects.select_related("patient").get(pk=study.pk)
        with pytest.raises(ValidationError, match="restricted"):
            share.share_create(study=study, actor=staff(clinic_a, "doctor"))
        assert not ShareLink.objects.filter(study=study).exists()


# --- 2. Booking look-up and "find at another branch" showed restricted patients ----------------------


def test_the_booking_lookup_hides_a_restricted_patient(clinic_a):
    patient = make_patient(clinic_a, given_name="Tanvi", family_name="Deshmukh", phone="+919845012345")
    with tenant_context(clinic_a.clinic):
        desk = staff(clinic_a, "front_desk")
        assert [p.pk for p in patient_lookup("Tanvi Deshmukh", user=desk)] == [patient.pk]
    _restrict(clinic_a, patient)
    with tenant_context(clinic_a.clinic):
        assert patient_lookup("Tanvi Deshmukh", user=desk) == []
        assert patient_lookup("9845012345", user=desk) == []


def test_find_at_another_branch_hides_a_restricted_patient(clinic_a):
    patient = branch_patient(clinic_a, location=0, phone="98450 67890")
    desk = main_only(clinic_a, "front_desk")
    with tenant_context(clinic_a.clinic):
        if not desk.has_capability(access.CROSS_BRANCH):
            pytest.skip("the front desk role cannot look at other branches")
        assert [p.pk for p in access.patient_find_elsewhere(user=desk, mrn=patient.mrn)] == [patient.pk]
    _restrict(clinic_a, patient)
    with tenant_context(clinic_a.clinic):
        assert access.patient_find_elsewhere(user=desk, mrn=patient.mrn) == []
        assert access.patient_find_elsewhere(user=desk, phone_e164="+919845067890") == []


# --- 3. WADO-RS frames named the same frame again and again ------------------------------------------


def test_wado_frames_refuses_a_repeated_frame_number_with_a_400(clinic_a):
    study = _ct_study(clinic_a)
    with tenant_context(clinic_a.clinic):
        instance = Instance.objects.select_related("series").get(study=study)
    api = Client(HTTP_HOST=clinic_a.host, **bearer(make_token(clinic_a, clinic_a.users["doctor"])))
    base = (
        f"/dicomweb/studies/{study.study_instance_uid}/series/{instance.series.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}/frames"
    )
    accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'

    assert api.get(f"{base}/1", HTTP_ACCEPT=accept).status_code == 200
    assert api.get(f"{base}/" + ",".join(["1"] * 500), HTTP_ACCEPT=accept).status_code == 400


# --- 4. A small compressed file claiming a huge frame took gigabytes to render -------------------------


def test_a_frame_claiming_more_samples_than_the_render_limit_is_refused_before_decoding(monkeypatch):
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(synthetic_ct(rows=64, columns=64)))
    ds.compress(RLELossless)
    monkeypatch.setattr(render, "MAX_RENDER_SAMPLES", 64 * 63)
    with pytest.raises(render.RenderError, match="too large"):
        render.render_dataset(ds)
    monkeypatch.setattr(render, "MAX_RENDER_SAMPLES", 64 * 64)
    assert render.render_dataset(ds).startswith(b"\x89PNG")


# --- 5. Study lists and QIDO-RS searches showed a restricted patient's studies --------------------------


def test_study_search_and_qido_hide_a_restricted_patients_studies(clinic_a, client_for):
    study = _ct_study(clinic_a)
    api = Client(HTTP_HOST=clinic_a.host, **bearer(make_token(clinic_a, clinic_a.users["doctor"])))
    pages = client_for(clinic_a, "doctor")
    assert study.study_instance_uid in str(api.get("/dicomweb/studies").json())
    assert str(study.pk) in pages.get("/imaging/").content.decode()

    _restrict(clinic_a, study.patient)

    assert study.study_instance_uid not in str(api.get("/dicomweb/studies").content)
    assert str(study.pk) not in pages.get("/imaging/").content.decode()
    assert str(study.pk) in pages.get(f"/imaging/studies/{study.pk}/").content.decode()  # still on the chart


# --- 6. A privacy request could be filed at a branch the user does not work at ---------------------------


def test_a_rights_request_is_filed_only_at_one_of_the_users_branches(clinic_a):
    from privacy.models import RightsRequest
    from privacy.services import rights_request_create

    patient = branch_patient(clinic_a, location=1)
    manager = main_only(clinic_a, "owner")
    with tenant_context(clinic_a.clinic):

        def file_at(index: int) -> RightsRequest:
            return rights_request_create(
                actor=manager,
                kind=RightsRequest.Kind.ACCESS,
                location=clinic_a.locations[index],
                patient=patient,
                requester_name="Farhan Qureshi",
                verification=RightsRequest.Verification.IN_PERSON_ID,
            )

        with pytest.raises(ValidationError) as refused:
            file_at(0)  # East branch: not the manager's
        assert "location" in refused.value.message_dict
        assert file_at(1).location_id == clinic_a.locations[1].pk
