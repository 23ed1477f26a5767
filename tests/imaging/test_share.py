"""Share links of imaging studies: limited in time (7 days by default, 30 at most), revocable, an
optional one-time code sent to the patient's WhatsApp, every use logged, and a link shows only the
images of its own study."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from imaging import share
from imaging.models import Instance, ShareAccess, ShareLink, Study
from messaging.models import OutboundMessage
from tests.clinical.clinical_helpers import clinic_files, make_patient, staff  # noqa: F401
from tests.imaging.imaging_helpers import shipped, upload_files

pytestmark = pytest.mark.usefixtures("clinic_files")


def _ct_study(seeded, **patient_fields):
    patient = make_patient(seeded, **patient_fields)
    upload_files(seeded, patient, [("CT_small.dcm", shipped("CT_small.dcm"))])
    with tenant_context(seeded.clinic):
        return Study.objects.select_related("patient").get(patient=patient)


def _create(seeded, study, **kwargs):
    with tenant_context(seeded.clinic):
        if kwargs.get("require_code"):
            _approve_code_template()
        return share.share_create(study=study, actor=staff(seeded, "doctor"), **kwargs)


def _approve_code_template():
    from messaging.models import MessageTemplate

    MessageTemplate.objects.update_or_create(
        name=share.CODE_TEMPLATE,
        language="en",
        defaults={"category": "AUTHENTICATION", "status": "approved", "body": "{{1}} is your verification code."},
    )


def _last_code(link) -> str:
    """The code in the latest WhatsApp message for this link (its one template parameter)."""
    message = OutboundMessage.objects.filter(related_id=str(link.pk)).order_by("-created_at").first()
    assert message is not None and isinstance(message.parameters, list)
    return str(message.parameters[0])


def _whatsapp_patient():
    return {"phone": "+919812345678", "whatsapp_consent_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC)}


def test_a_link_lasts_seven_days_by_default_and_at_most_thirty(clinic_a, clock):
    study = _ct_study(clinic_a)

    link, secret = _create(clinic_a, study)

    assert link.expires_at - link.created_at == dt.timedelta(days=7)
    assert link.token_hash != secret and len(secret) >= 32
    for days in (0, 31):
        with pytest.raises(ValidationError) as refused:
            _create(clinic_a, study, days=days)
        assert "1 to 30 days" in str(refused.value)
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="imaging.share.create", object_id=str(link.pk)).exists()


def test_a_front_desk_user_without_imaging_share_cannot_create_a_link(clinic_a):
    study = _ct_study(clinic_a)
    with tenant_context(clinic_a.clinic), pytest.raises(PermissionDenied):
        share.share_create(study=study, actor=staff(clinic_a, "front_desk"))


def test_the_link_opens_the_study_and_its_images_and_logs_each_opening(clinic_a, client_for, clock):
    study = _ct_study(clinic_a)
    _, secret = _create(clinic_a, study)
    visitor = client_for(clinic_a)

    page = visitor.get(f"/share/imaging/{secret}/")
    manifest = visitor.get(f"/share/imaging/{secret}/manifest")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-image-base="/share/imaging/' in html
    assert study.patient.mrn not in html and study.patient.given_name not in html  # nothing else of the patient
    assert page["Cache-Control"] == "private, no-store" and page["Referrer-Policy"] == "no-referrer"
    image = manifest.json()["series"][0]["images"][0]
    frame = visitor.get(f"/share/imaging/{secret}/images/{image['id']}/frames/0.png")
    assert frame.status_code == 200 and frame["Content-Type"] == "image/png"
    assert frame.content.startswith(b"\x89PNG")
    with tenant_context(clinic_a.clinic):
        link = ShareLink.objects.get(study=study)
        assert link.access_count == 1
        assert list(link.accesses.values_list("event", flat=True)) == [ShareAccess.Event.VIEWED]


def test_a_link_never_reaches_another_study_of_the_same_patient(clinic_a, client_for):
    study = _ct_study(clinic_a)
    upload_files(clinic_a, study.patient, [("MR.dcm", shipped("MR_small.dcm"))])
    with tenant_context(clinic_a.clinic):
        other = Instance.objects.get(study__patient=study.patient, study__modalities=["MR"])
    _, secret = _create(clinic_a, study)

    response = client_for(clinic_a).get(f"/share/imaging/{secret}/images/{other.pk}/frames/0.png")

    assert response.status_code == 404


def test_an_expired_link_is_refused_with_a_sentence_and_the_refusal_is_logged(clinic_a, client_for, clock):
    study = _ct_study(clinic_a)
    link, secret = _create(clinic_a, study, days=1)
    visitor = client_for(clinic_a)
    clock.move_to(link.expires_at + dt.timedelta(seconds=1))

    page = visitor.get(f"/share/imaging/{secret}/")

    assert page.status_code == 410
    assert "The link has expired" in page.content.decode()
    assert visitor.get(f"/share/imaging/{secret}/manifest").status_code == 404
    with tenant_context(clinic_a.clinic):
        assert link.accesses.filter(event=ShareAccess.Event.REFUSED).count() == 1


def test_a_revoked_link_stops_working_at_once(clinic_a, client_for):
    study = _ct_study(clinic_a)
    link, secret = _create(clinic_a, study)
    doctor = client_for(clinic_a, "doctor")
    visitor = client_for(clinic_a)
    manifest = visitor.get(f"/share/imaging/{secret}/manifest").json()
    image = manifest["series"][0]["images"][0]["id"]

    revoked = doctor.post(f"/imaging/studies/{study.pk}/shares/{link.pk}/revoke")

    assert revoked.status_code == 302
    assert visitor.get(f"/share/imaging/{secret}/").status_code == 410
    assert "withdrawn" in visitor.get(f"/share/imaging/{secret}/").content.decode()
    assert visitor.get(f"/share/imaging/{secret}/images/{image}/frames/0.png").status_code == 404
    with tenant_context(clinic_a.clinic):
        assert AuditEvent.objects.filter(action="imaging.share.revoke", object_id=str(link.pk)).count() == 1


def test_an_unknown_secret_is_a_404(clinic_a, client_for):
    assert client_for(clinic_a).get("/share/imaging/not-a-real-secret-at-all/").status_code == 404


def test_a_link_of_one_clinic_is_unknown_on_another_clinics_host(clinic_a, clinic_b, client_for):
    study = _ct_study(clinic_a)
    _, secret = _create(clinic_a, study)

    assert client_for(clinic_b).get(f"/share/imaging/{secret}/").status_code == 404


def test_a_code_link_asks_for_the_whatsapp_code_once_then_opens(clinic_a, client_for, clock):
    study = _ct_study(clinic_a, **_whatsapp_patient())
    link, secret = _create(clinic_a, study, require_code=True)
    visitor = client_for(clinic_a)

    first = visitor.get(f"/share/imaging/{secret}/")
    assert first.status_code == 200 and "…5678" in first.content.decode()
    assert visitor.get(f"/share/imaging/{secret}/manifest").status_code == 404  # no images before the code
    assert visitor.post(f"/share/imaging/{secret}/code").status_code == 302
    with tenant_context(clinic_a.clinic):
        assert OutboundMessage.objects.get(related_id=str(link.pk)).template_name == "imaging_share_code"
        code = _last_code(link)
        assert re.fullmatch(r"\d{6}", code)
    wrong = "000000" if code != "000000" else "111111"
    visitor.post(f"/share/imaging/{secret}/verify", {"code": wrong})
    assert visitor.get(f"/share/imaging/{secret}/manifest").status_code == 404

    assert visitor.post(f"/share/imaging/{secret}/verify", {"code": code}).status_code == 302

    assert visitor.get(f"/share/imaging/{secret}/manifest").status_code == 200
    assert client_for(clinic_a).get(f"/share/imaging/{secret}/manifest").status_code == 404  # another browser
    assert visitor.post(f"/share/imaging/{secret}/verify", {"code": code}).status_code == 302
    with tenant_context(clinic_a.clinic):
        events = list(link.accesses.order_by("at").values_list("event", flat=True))
        assert events[:3] == ["code_sent", "code_wrong", "code_ok"]
        assert events[-1] == "code_wrong"  # the code was used once and is gone


def test_a_code_works_for_five_attempts_and_ten_minutes(clinic_a, clock):
    study = _ct_study(clinic_a, **_whatsapp_patient())
    link, _ = _create(clinic_a, study, require_code=True)
    with tenant_context(clinic_a.clinic):
        assert share.share_code_send(share=link) == ""
        code = _last_code(link)
        clock.move_to(timezone.now() + dt.timedelta(minutes=11))
        assert share.share_code_verify(share=link, code=code) is False
        clock.move_to(timezone.now() + dt.timedelta(minutes=1))
        assert share.share_code_send(share=link) == ""
        code = _last_code(link)
        for _ in range(share.CODE_ATTEMPTS):
            assert share.share_code_verify(share=link, code="99999" + ("8" if code[-1] != "8" else "7")) is False
        assert share.share_code_verify(share=link, code=code) is False  # too many attempts


def test_a_code_cannot_be_asked_for_again_within_a_minute(clinic_a, clock):
    study = _ct_study(clinic_a, **_whatsapp_patient())
    link, _ = _create(clinic_a, study, require_code=True)
    with tenant_context(clinic_a.clinic):
        assert share.share_code_send(share=link) == ""
        assert "Wait a minute" in share.share_code_send(share=link)
        assert OutboundMessage.objects.filter(related_id=str(link.pk)).count() == 1


def test_a_code_link_needs_a_patient_reachable_on_whatsapp(clinic_a):
    study = _ct_study(clinic_a)  # no number, no consent
    with pytest.raises(ValidationError) as refused:
        _create(clinic_a, study, require_code=True)
    assert "cannot receive it" in str(refused.value)


def test_the_staff_page_creates_lists_and_shows_the_access_log(clinic_a, client_for, clock):
    study = _ct_study(clinic_a)
    doctor = client_for(clinic_a, "doctor")

    created = doctor.post(f"/imaging/studies/{study.pk}/shares", {"days": "14", "note": "Second opinion"})

    assert created.status_code == 302
    with tenant_context(clinic_a.clinic):
        link = ShareLink.objects.get(study=study)
    assert link.expires_at - link.created_at == dt.timedelta(days=14)
    client_for(clinic_a).get(f"/share/imaging/{link.token}/")
    page = doctor.get(f"/imaging/studies/{study.pk}/shares").content.decode()
    assert f"/share/imaging/{link.token}/" in page
    assert "Second opinion" in page and "Opened the study" in page
    bad = doctor.post(f"/imaging/studies/{study.pk}/shares", {"days": "45"})
    assert bad.status_code == 400


def test_staff_without_imaging_share_or_of_another_clinic_cannot_manage_links(clinic_a, clinic_b, client_for):
    study = _ct_study(clinic_a)
    link, _ = _create(clinic_a, study)

    assert client_for(clinic_a, "nurse").get(f"/imaging/studies/{study.pk}/shares").status_code in (403, 404)
    assert client_for(clinic_b, "doctor").get(f"/imaging/studies/{study.pk}/shares").status_code == 404
    revoke = client_for(clinic_b, "owner").post(f"/imaging/studies/{study.pk}/shares/{link.pk}/revoke")
    assert revoke.status_code == 404
    with tenant_context(clinic_a.clinic):
        assert ShareLink.objects.get(pk=link.pk).revoked_at is None


def test_a_code_link_needs_the_clinics_approved_authentication_template(clinic_a):
    study = _ct_study(clinic_a, **_whatsapp_patient())
    with tenant_context(clinic_a.clinic):
        with pytest.raises(ValidationError) as refused:
            share.share_create(study=study, actor=staff(clinic_a, "doctor"), require_code=True)
    assert "has not approved" in str(refused.value)
