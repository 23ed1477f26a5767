"""Dates are day first, as India writes them: 04/12/2026 is 4 December in every form, pages print
"4 Dec 2026" or 04/12/2026, and the browser's date pickers still get ISO values they accept."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import number_format

from tests.patients.test_registry_views import form_data

DECEMBER_4 = dt.date(2026, 12, 4)


@pytest.mark.parametrize("typed", ["04/12/2026", "4/12/2026", "04-12-2026", "04.12.2026", "04/12/26", "4 Dec 2026"])
@pytest.mark.parametrize("language", ["en-in", "hi"])
def test_a_typed_date_is_day_first(typed, language):
    with translation.override(language):
        assert forms.DateField().clean(typed) == DECEMBER_4


def test_a_month_first_date_is_refused_not_misread():
    with translation.override("en-in"), pytest.raises(forms.ValidationError):
        forms.DateField().clean("12/31/2026")


def test_iso_dates_from_the_browser_picker_still_parse():
    with translation.override("en-in"):
        assert forms.DateField().clean("2026-12-04") == DECEMBER_4


def test_pages_print_day_first_dates_and_lakh_grouping():
    with translation.override("en-in"):
        rendered = Template('{{ d }}|{{ d|date:"SHORT_DATE_FORMAT" }}').render(Context({"d": DECEMBER_4}))
        assert rendered == "4 Dec 2026|04/12/2026"
        assert number_format(12345678, force_grouping=True) == "1,23,45,678"


def test_date_pickers_render_iso_values_the_browser_accepts(clinic_a, client_for, in_tenant):
    from patients.models import Patient

    client = client_for(clinic_a, "front_desk")
    response = client.post("/patients/new", form_data(clinic_a, date_of_birth="15/08/1981"))
    assert response.status_code == 302, response.content.decode()[:2000]
    with in_tenant(clinic_a):
        patient = Patient.objects.get(given_name="Kavya")
    assert patient.date_of_birth == dt.date(1981, 8, 15)
    edit = client.get(f"/patients/{patient.pk}/edit").content.decode()
    assert 'type="date"' in edit and 'value="1981-08-15"' in edit
