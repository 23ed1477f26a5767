"""Clinic profile (name, logo, billing details, GSTIN, time zone) and security settings."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinics.models import Clinic
from docos.gstin import gstin_check_digit
from tests.accounts.console_helpers import audit_events, png_bytes


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def valid_gstin(state_code: str = "29") -> str:
    first14 = f"{state_code}AAGCS1234K1Z"
    return first14 + gstin_check_digit(first14)


def profile_data(**overrides):
    data = {
        "name": "Alpha Family Clinic",
        "contact_email": "accounts@alpha.example.in",
        "billing_address": "14, 80 Feet Road, Bengaluru 560034",
        "billing_state": "Karnataka",
        "gstin": "",
        "timezone": "Asia/Kolkata",
    }
    data.update(overrides)
    return data


def reload(seeded) -> Clinic:
    return Clinic.objects.get(pk=seeded.clinic.pk)


def test_owner_updates_profile_and_only_changed_field_names_are_audited(clinic_a, client_for):
    response = client_for(clinic_a, "owner").post("/settings/profile/", profile_data(gstin=valid_gstin()))
    assert response.status_code == 302
    clinic = reload(clinic_a)
    assert clinic.name == "Alpha Family Clinic"
    assert clinic.gstin == valid_gstin()
    assert clinic.billing_state == "Karnataka"
    (event,) = audit_events(clinic_a, "clinic.profile_update")
    assert set(event.changed_fields) == {"name", "contact_email", "billing_address", "billing_state", "gstin"}
    assert event.actor_id == clinic_a.users["owner"].pk
    assert "Alpha Family Clinic" not in str(event.metadata)


def test_invalid_gstin_is_rejected_with_a_clear_message(clinic_a, client_for):
    bad = valid_gstin()[:-1] + ("A" if valid_gstin()[-1] != "A" else "B")
    response = client_for(clinic_a, "owner").post("/settings/profile/", profile_data(gstin=bad))
    assert response.status_code == 200
    assert "check digit is wrong" in response.content.decode()
    assert reload(clinic_a).gstin == ""
    assert audit_events(clinic_a, "clinic.profile_update") == []


def test_gstin_from_another_state_than_the_billing_state_is_rejected(clinic_a, client_for):
    response = client_for(clinic_a, "owner").post("/settings/profile/", profile_data(gstin=valid_gstin("27")))
    assert response.status_code == 200
    assert "registered in Maharashtra" in response.content.decode()


def test_unknown_timezone_is_rejected(clinic_a, client_for):
    response = client_for(clinic_a, "owner").post("/settings/profile/", profile_data(timezone="Mars/Olympus"))
    assert response.status_code == 200
    assert reload(clinic_a).timezone == "Asia/Kolkata"


def test_logo_png_is_stored_and_served_with_its_real_type(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    upload = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    assert client.post("/settings/profile/", {**profile_data(), "logo": upload}).status_code == 302
    clinic = reload(clinic_a)
    assert clinic.logo.name.endswith(".png")
    assert "logo" in audit_events(clinic_a, "clinic.profile_update")[0].changed_fields
    served = client.get("/settings/logo")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served.content == png_bytes()


def test_jpeg_logo_uploaded_under_a_png_name_is_stored_as_jpeg(clinic_a, client_for):
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    upload = SimpleUploadedFile("logo.png", jpeg, content_type="image/png")
    assert (
        client_for(clinic_a, "owner").post("/settings/profile/", {**profile_data(), "logo": upload}).status_code == 302
    )
    assert reload(clinic_a).logo.name.endswith(".jpg")


def test_logo_named_png_that_is_really_text_is_rejected(clinic_a, client_for):
    upload = SimpleUploadedFile("logo.png", b"this is not an image, just text\n" * 4, content_type="image/png")
    response = client_for(clinic_a, "owner").post("/settings/profile/", {**profile_data(), "logo": upload})
    assert response.status_code == 200
    assert "must be a PNG or JPEG image" in response.content.decode()
    assert not reload(clinic_a).logo
    assert audit_events(clinic_a, "clinic.profile_update") == []


def test_logo_over_one_megabyte_is_rejected(clinic_a, client_for):
    big = png_bytes() + b"\x00" * (1024 * 1024)
    upload = SimpleUploadedFile("logo.png", big, content_type="image/png")
    response = client_for(clinic_a, "owner").post("/settings/profile/", {**profile_data(), "logo": upload})
    assert response.status_code == 200
    assert "the limit is 1 MB" in response.content.decode()
    assert not reload(clinic_a).logo


def test_logo_can_be_removed(clinic_a, client_for):
    client = client_for(clinic_a, "owner")
    upload = SimpleUploadedFile("logo.jpg", png_bytes(), content_type="image/jpeg")
    client.post("/settings/profile/", {**profile_data(), "logo": upload})
    assert reload(clinic_a).logo
    assert client.post("/settings/profile/", {**profile_data(), "remove_logo": "on"}).status_code == 302
    assert not reload(clinic_a).logo
    assert client.get("/settings/logo").status_code == 404


def test_security_settings_are_saved_and_audited(clinic_a, client_for):
    client = client_for(clinic_a, "administrator")
    response = client.post("/settings/security/", {"idle_timeout_minutes": "30", "require_2fa_for_admins": "on"})
    assert response.status_code == 302
    clinic = reload(clinic_a)
    assert clinic.idle_timeout_minutes == 30
    assert clinic.require_2fa_for_admins is True
    (event,) = audit_events(clinic_a, "clinic.security_update")
    assert set(event.changed_fields) == {"idle_timeout_minutes", "require_2fa_for_admins"}


@pytest.mark.parametrize("minutes", ["4", "61", "abc"])
def test_idle_timeout_outside_5_to_60_minutes_is_rejected(clinic_a, client_for, minutes):
    response = client_for(clinic_a, "owner").post("/settings/security/", {"idle_timeout_minutes": minutes})
    assert response.status_code == 200
    assert reload(clinic_a).idle_timeout_minutes == 15


def test_profile_service_rejects_a_text_file_named_png(clinic_a):
    from django.core.exceptions import ValidationError

    from clinics.services import clinic_profile_update

    clinic = reload(clinic_a)
    with pytest.raises(ValidationError) as exc:
        clinic_profile_update(clinic=clinic, actor=None, logo=SimpleUploadedFile("x.png", b"GIF89a not allowed either"))
    assert "logo" in exc.value.message_dict
