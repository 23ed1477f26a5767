"""The patient-data registry: every app that holds patient data has registered what it holds, so
an export, an erasure or a purge reaches all of it."""

from __future__ import annotations

from django.apps import apps

from patients.models import Patient
from patients.registry import data_sources


def test_every_app_that_holds_patient_data_is_registered():
    keys = {source.key for source in data_sources()}
    assert {"patients", "clinical", "documents", "appointments", "messaging", "billing", "imaging"} <= keys


def test_every_model_pointing_at_a_patient_belongs_to_a_registered_app():
    registered = {source.key.split(".")[0] for source in data_sources()}
    holders = {
        model._meta.app_label
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if getattr(field, "related_model", None) is Patient and field.concrete and model is not Patient
    }
    assert holders - {"privacy"} <= registered, holders - registered


def test_erasure_runs_apps_above_first_and_the_patient_row_last():
    order = [source.key for source in data_sources()]
    assert order[-1] == "patients"
    assert order.index("clinical") < order.index("documents")  # prescriptions point at signed PDFs
