"""GSTIN validation: shape, state code and the mod-36 check digit."""

import pytest
from django.core.exceptions import ValidationError

from clinics.models import Clinic
from docos.gstin import gstin_check_digit, validate_gstin


def test_published_example_gstin_has_the_expected_check_digit():
    # 27AAPFU0939F1ZV is the example GSTIN used in GSTN's own documentation.
    assert gstin_check_digit("27AAPFU0939F1Z") == "V"
    validate_gstin("27AAPFU0939F1ZV")


@pytest.mark.parametrize(
    ("gstin", "stored"),
    [
        ("29AAGCS1234K1Z7", "29AAGCS1234K1Z7"),
        ("29aagcs1234k1z7", "29AAGCS1234K1Z7"),
        (" 27AAPFU0939F1ZV ", "27AAPFU0939F1ZV"),
    ],
)
def test_valid_gstin_is_accepted_in_any_case_and_spacing(gstin, stored, db):
    assert validate_gstin(gstin) is None  # raises ValidationError when it refuses
    clinic = Clinic(name="X", slug="gst-ok", schema_name="t_gst_ok", contact_email="a@b.in", gstin=gstin)
    clinic.full_clean()  # the whole clinic is valid with it
    assert clinic.gstin == stored


@pytest.mark.parametrize(
    ("gstin", "code"),
    [
        ("27AAPFU0939F1ZW", "gstin_checksum"),
        ("27AAPFU0939F1Z", "gstin_format"),
        ("27AAPFU0939F1YV", "gstin_format"),  # 14th character must be Z
        ("2AAAPFU0939F1ZV", "gstin_format"),
        ("00AAPFU0939F1ZV", "gstin_state"),
        ("45AAPFU0939F1ZV", "gstin_state"),
    ],
)
def test_invalid_gstin_is_rejected_with_a_specific_reason(gstin, code):
    with pytest.raises(ValidationError) as exc:
        validate_gstin(gstin)
    assert exc.value.code == code


def test_single_transposition_is_caught_by_the_check_digit():
    swapped = "27AAPFU0993F1ZV"  # 39 -> 93
    with pytest.raises(ValidationError):
        validate_gstin(swapped)


def test_clinic_clean_normalises_gstin_and_rejects_reserved_slug(db):
    clinic = Clinic(name="X", slug="www", schema_name="t_www", contact_email="a@b.in", gstin=" 29aagcs1234k1z7")
    with pytest.raises(ValidationError) as exc:
        clinic.full_clean()
    assert "slug" in exc.value.message_dict and "gstin" not in exc.value.message_dict
    assert clinic.gstin == "29AAGCS1234K1Z7"


def test_clinic_rejects_unknown_timezone(db):
    clinic = Clinic(name="X", slug="xyz", schema_name="t_xyz", contact_email="a@b.in", timezone="Asia/Bombay-ish")
    with pytest.raises(ValidationError) as exc:
        clinic.full_clean()
    assert "timezone" in exc.value.message_dict
