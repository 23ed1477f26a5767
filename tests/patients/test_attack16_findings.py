"""Defects found by an outside review of patient search and import (issue 16). Each test fails on
the code it was written against; see the docstrings for where the defect lies."""

from __future__ import annotations

import datetime as dt

from django_tenants.utils import tenant_context

from patients import importer
from patients.selectors import patient_search
from tests.patients.registry_helpers import register, user


def _names(seeded, query, role="owner"):
    with tenant_context(seeded.clinic):
        result = patient_search(user=user(seeded, role), query=query)
        return [(p.given_name, p.family_name) for p in result.rows(0, 50)]


def test_devanagari_surname_does_not_find_an_unrelated_patient(clinic_a):
    """patients/search.py: `_fold` drops the virama (a combining mark) and `_WORD_RE` ([^\\W\\d_]+)
    does not count Indic vowel signs (Mn/Mc) as letters, so "शर्मा" is cut into "शरम" and "मिश्रा" into
    "म", "शर", and "राम" into "र", "म". Every Devanagari or Tamil name becomes one-letter fragments
    that match each other: searching "शर्मा" (or "राम शर्मा") also lists रमेश मिश्रा."""
    sharma = register(clinic_a, given_name="राम", family_name="शर्मा")
    register(clinic_a, given_name="रमेश", family_name="मिश्रा")
    assert _names(clinic_a, "शर्मा") == [(sharma.given_name, sharma.family_name)]
    assert _names(clinic_a, "राम शर्मा") == [(sharma.given_name, sharma.family_name)]


def test_import_row_with_a_reused_source_id_is_not_silently_skipped(clinic_a):
    """patients/importer.py find_existing: a row whose source id (UHID / Reg No / Patient ID, mapped
    automatically) equals a registered patient's is treated as that patient and skipped, whatever its
    name, phone and birth date. Two systems (or two branches' registers) both number from 1, so a
    second clinic export loses every patient whose number was used before, with no error and no
    review: here Sunita Patel is dropped because Ramesh Gupta came in as "101"."""
    register(
        clinic_a,
        given_name="Ramesh",
        family_name="Gupta",
        sex="M",
        date_of_birth=dt.date(1970, 1, 1),
        phone="98450 10101",
        external_ref="101",
    )
    headers = ["Reg No", "Name", "Sex", "DOB", "Mobile No."]
    row = ["101", "Sunita Patel", "F", "12/08/1992", "99001 23456"]
    with tenant_context(clinic_a.clinic):
        mapping = importer.guess_mapping(headers)
        assert mapping.get("Reg No") == "external_ref" or "external_ref" in mapping.values()
        outcome = importer.evaluate_row(
            row,
            number=2,
            headers=headers,
            mapping=mapping,
            location=clinic_a.locations[0],
            actor=user(clinic_a, "owner"),
        )
    assert outcome.existing is None, "a different person with a reused source id is skipped as already imported"
    [message] = outcome.errors["external_ref"]  # an error row in the report, corrected and imported again
    assert "already belongs to" in message


def test_api_page_with_thousands_of_digits_is_a_400_not_a_500(clinic_a, client_for):
    """docos/api_pagination.py: `int(raw)` of a page number longer than Python's 4,300-digit limit
    raises ValueError (after `isdigit()` passed), which nothing catches: 500 on GET /api/v1/patients.
    Low severity (most front proxies cap the request line), but every paginated API has it."""
    client = client_for(clinic_a, "owner", raise_request_exception=False)
    response = client.get("/api/v1/patients", {"q": "Asha", "page": "9" * 5000})
    assert response.status_code == 400


def test_honorific_stripping_keeps_a_given_name_spelled_like_a_title():
    """patients/importer.py strip_honorifics: the loop strips every leading "Kum"/"Kumari" while a
    word follows, so "Kum Kum Sharma" (Kumkum, a common given name, typed as two words) is imported
    as given name "Sharma" with no family name, and "Kumari Ananthan" loses its given name. (The
    search's own HONORIFICS note says "Kumari" is a name too.) Low severity: a wrong name, no loss of
    the row."""
    given, family = importer.split_name(importer.strip_honorifics("Kum Kum Sharma"))
    assert family == "Sharma" and given, (given, family)
