"""Forms as assistive technology reads them (docos/templatetags/docos_forms.py, docos/_field.html,
docos/_error_summary.html): every aria-describedby names an id on the page, invalid fields carry
aria-invalid, required ones required or aria-required, and a failed submit opens on an error summary
that lists the form's own errors and links to each invalid field."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms

from docos.templatetags.docos_forms import summary_lines
from tests.clinical.clinical_helpers import (
    ITEM,
    clinic_files,  # noqa: F401  (fixture)
    make_patient,
)
from tests.patients.test_registry_views import form_data


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order (enough to check ids and aria)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.links: list[tuple[str, str]] = []  # (href, text) of every <a>
        self._link: list[str] | None = None
        self._href = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag == "a":
            self._link, self._href = [], dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append((self._href, "".join(self._link).strip()))
            self._link = None

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.elements if "id" in attrs}

    def by_name(self, name: str) -> dict[str, str]:
        return next(attrs for tag, attrs in self.elements if attrs.get("name") == name and tag != "a")

    def dangling(self) -> list[str]:
        ids = self.ids()
        return [
            f"{attrs.get('name') or attrs.get('id')} {aria}={ref}"
            for _, attrs in self.elements
            for aria in ("aria-describedby", "aria-labelledby")
            for ref in attrs.get(aria, "").split()
            if ref not in ids
        ]

    def summary(self) -> dict[str, str]:
        return next(attrs for _, attrs in self.elements if "data-error-summary" in attrs)


def test_failed_registration_opens_on_an_error_summary_linked_to_each_invalid_field(clinic_a, client_for):
    response = client_for(clinic_a, "front_desk").post(
        "/patients/new", form_data(clinic_a, given_name="", phone="12", pin_code="012345")
    )
    assert response.status_code == 200
    page = Elements(response.content.decode())
    assert page.dangling() == []
    summary = page.summary()
    assert summary["tabindex"] == "-1" and summary["aria-labelledby"] in page.ids()  # docos.js focuses it
    links = dict(page.links)
    assert links["#id_given_name"] == "Given name: This field is required."
    assert links["#id_phone"].startswith("Phone: Enter a phone number such as 98450 12345")
    assert "#id_pin_code" in links
    given = page.by_name("given_name")
    assert given["aria-invalid"] == "true"
    assert given["aria-describedby"] == "id_given_name_error"
    family = page.by_name("family_name")  # valid, with help text: read with its help, not invalid
    assert "aria-invalid" not in family and family["aria-describedby"] == "id_family_name_helptext"


def test_required_fields_say_so_even_where_html_has_no_required_select(clinic_a, client_for):
    page = Elements(client_for(clinic_a, "front_desk").get("/patients/new").content.decode())
    # A select whose first option is a real value gets no `required` from Django (HTML forbids it);
    # "Sex *" and "Registered at *" are still announced as required.
    for name in ("given_name", "sex", "registered_location"):
        attrs = page.by_name(name)
        assert attrs.get("aria-required") == "true" or "required" in attrs, (name, attrs)
    assert page.by_name("sex").get("aria-required") == "true"
    assert page.by_name("registered_location").get("aria-required") == "true"
    assert "aria-required" not in page.by_name("family_name")  # optional
    assert page.dangling() == []


@pytest.mark.usefixtures("clinic_files")
def test_prescription_without_medicines_names_the_form_error_in_the_summary(clinic_a, client_for):
    from tests.clinical.test_prescriptions import _form_data

    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    empty = client.post(f"/patients/{patient.pk}/prescriptions/new", _form_data(clinic_a, []))
    assert empty.status_code == 400
    page = Elements(empty.content.decode())
    assert page.summary()
    assert "Add at least one medicine." in empty.content.decode().split("data-error-summary", 1)[1].split("</ul>")[0]
    assert page.dangling() == []

    wrong = client.post(
        f"/patients/{patient.pk}/prescriptions/new", _form_data(clinic_a, [{**ITEM, "frequency": "thrice"}])
    )
    page = Elements(wrong.content.decode())
    frequency = page.by_name("items-0-frequency")
    assert frequency["aria-invalid"] == "true" and frequency["aria-describedby"] == "id_items-0-frequency_error"
    assert any(href == "#id_items-0-frequency" and "(row 1)" in text for href, text in page.links)
    assert page.dangling() == []


def test_summary_lists_non_field_formset_and_hidden_field_errors_in_page_order():
    class Row(forms.Form):
        dose = forms.CharField()

    class Main(forms.Form):
        token = forms.CharField(widget=forms.HiddenInput)
        note = forms.CharField(label="Note")

        def clean(self):
            raise forms.ValidationError("Choose a location first.")

    Rows = forms.formset_factory(Row, min_num=1, validate_min=True)
    main = Main(data={})
    rows = Rows(data={"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-0-dose": ""})
    main.is_valid(), rows.is_valid()
    lines = [(line.message, line.href) for line in summary_lines(main, rows, "", None, Main())]
    assert lines == [
        ("Choose a location first.", ""),
        ("This field is required.", ""),  # a hidden field has nothing to link to
        ("Note: This field is required.", "#id_note"),
        ("Please submit at least 1 form.", ""),
        ("Dose (row 1): This field is required.", "#id_form-0-dose"),
    ]
