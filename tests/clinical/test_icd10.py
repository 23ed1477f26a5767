"""ICD-10 diagnosis codes: search over the WHO list (by code and by words), the lookup page and
autocomplete endpoint, the API search, and diagnoses refusing codes not on the list."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from clinical import icd10
from clinical.models import Visit
from tests.accounts.api_helpers import assert_error
from tests.clinical.clinical_helpers import draft_visit, make_patient


def _codes(query: str) -> list[str]:
    return [entry.code for entry in icd10.search(query)]


def test_search_by_code_prefix_lists_the_category_and_its_subcategories():
    assert _codes("J06") == ["J06", "J06.0", "J06.8", "J06.9"]
    assert _codes("j069") == ["J06.9"]


def test_search_by_words():
    assert "A01.0" in _codes("typhoid")
    assert icd10.lookup("A01.0").description == "Typhoid fever"
    assert _codes("diabetes")[:5] == ["E10", "E11", "E12", "E13", "E14"]
    assert _codes("type 2 diabetes")[0] == "E11"
    assert "D64.9" in _codes("anemia unspecified")  # American spelling of a British title
    assert _codes("URTI")[0] == "J06.9"
    assert icd10.search("x") == []


def test_codes_not_on_the_who_list_are_refused_naming_the_nearest_one():
    assert icd10.require_known("e11.9") == "E11.9"
    with pytest.raises(ValidationError, match=r"E11\.65 is not in the WHO ICD-10.*nearest code is E11\.6"):
        icd10.require_known("E11.65")
    assert icd10.codes_count() > 12_000


@pytest.mark.parametrize("code", ["E11.65", "S72.001A", "J99.9"])
def test_visit_refuses_a_well_formed_code_that_is_not_on_the_list(clinic_a, code):
    with pytest.raises(ValidationError) as caught:
        draft_visit(clinic_a, make_patient(clinic_a), diagnoses=[{"text": "Something", "icd10": code}])
    assert "is not in the WHO ICD-10" in caught.value.message_dict["diagnoses.0.icd10"][0]


def _visit_post(clinic_a, code: str) -> dict[str, str]:
    return {
        "visit_at": "2026-01-15T10:30",
        "location": str(clinic_a.locations[0].pk),
        "diagnoses-TOTAL_FORMS": "1",
        "diagnoses-INITIAL_FORMS": "0",
        "diagnoses-0-text": "Type 2 diabetes",
        "diagnoses-0-icd10": code,
    }


def test_visit_form_explains_an_unknown_code_and_keeps_a_known_one(clinic_a, client_for):
    patient = make_patient(clinic_a)
    client = client_for(clinic_a, "doctor")
    refused = client.post(f"/patients/{patient.pk}/visits/new", _visit_post(clinic_a, "E11.65"))
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "E11.65 is not in the WHO ICD-10" in body and "E11.6" in body
    assert 'data-icd10-url="/icd10/search"' in body and 'href="/icd10/"' in body
    saved = client.post(f"/patients/{patient.pk}/visits/new", _visit_post(clinic_a, "e11.9"))
    assert saved.status_code == 302
    with tenant_context(clinic_a.clinic):
        assert Visit.objects.get(patient=patient).diagnoses == [{"text": "Type 2 diabetes", "icd10": "E11.9"}]


def test_api_refuses_an_unknown_code_with_the_field_named(clinic_a, client_for):
    patient = make_patient(clinic_a)
    response = client_for(clinic_a, "doctor").post(
        f"/api/v1/patients/{patient.pk}/visits",
        {"location": str(clinic_a.locations[0].pk), "diagnoses": [{"text": "Fracture", "icd10": "S72.001A"}]},
        content_type="application/json",
    )
    error = assert_error(response, 400, "invalid")
    assert "nearest code is S72.0" in str(error["fields"]["diagnoses.0.icd10"])


def test_lookup_page_works_without_javascript_and_escapes_the_query(clinic_a, client_for):
    client = client_for(clinic_a, "nurse")
    page = client.get("/icd10/", {"q": "typhoid"}).content.decode()
    assert "A01.0" in page and "Typhoid fever" in page
    empty = client.get("/icd10/", {"q": "<script>zzqx</script>"}).content.decode()
    assert "No ICD-10 code matches" in empty and "<script>zzqx" not in empty
    assert "Type a code or a few words" in client.get("/icd10/").content.decode()


def test_autocomplete_and_api_search(clinic_a, client_for):
    client = client_for(clinic_a, "doctor")
    results = client.get("/icd10/search", {"q": "J06"}).json()["results"]
    assert {"code": "J06.9", "description": "Acute upper respiratory infection, unspecified"} in results
    page = client.get("/api/v1/icd10", {"q": "typhoid"}).json()
    assert page["count"] >= 2 and {"code": "A01.0", "description": "Typhoid fever"} in page["results"]
    assert_error(client.get("/api/v1/icd10"), 400, "invalid")


def test_icd10_search_needs_clinical_view(clinic_a, client_for):
    front_desk = client_for(clinic_a, "front_desk")
    assert front_desk.get("/icd10/search", {"q": "J06"}).status_code == 403
    assert front_desk.get("/icd10/", {"q": "J06"}).status_code == 403
    assert front_desk.get("/api/v1/icd10", {"q": "J06"}).status_code == 403
