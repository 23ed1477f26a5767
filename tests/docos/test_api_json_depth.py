"""Deeply nested JSON bodies answer 400 in the API's error shape on every operation, never 500."""

from __future__ import annotations

import pytest

from docos.api_parsers import json_depth_exceeds
from tests.accounts.api_helpers import assert_error, bearer, make_token


def nested(levels: int, *, kind: str = "list") -> str:
    if kind == "list":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "1" + "}" * levels


def deep_body(levels: int) -> str:
    """An object whose one field holds `levels` nested lists (the whole body is one level deeper)."""
    return '{"full_name": ' + nested(levels) + "}"


@pytest.fixture
def owner_client(clinic_a, client_for):
    client = client_for(clinic_a)
    client.defaults.update(bearer(make_token(clinic_a, clinic_a.users["owner"])))
    return client


@pytest.mark.parametrize("levels", [1_000, 5_000, 100_000])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/patients"),
        ("post", "/api/v1/appointments"),
        ("post", "/api/v1/certificates"),  # its `details` takes any JSON object
    ],
)
def test_a_body_nested_a_thousand_levels_and_more_is_a_400(owner_client, method, url, levels):
    response = getattr(owner_client, method)(url, data=deep_body(levels), content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert "nests more than 32 levels" in error["message"]


def test_a_body_the_parser_accepts_but_nested_past_the_limit_is_a_400_too(owner_client, settings):
    settings.DOCOS_API_MAX_JSON_DEPTH = 5
    body = '{"a": ' + nested(5, kind="object") + "}"  # six levels
    response = owner_client.post("/api/v1/patients", data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_a_session_client_gets_the_same_answer(clinic_a, client_for):
    response = client_for(clinic_a, "owner").post(
        "/api/v1/patients", data=deep_body(2_000), content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_ordinary_bodies_still_reach_validation(owner_client):
    response = owner_client.post("/api/v1/patients", data={"tags": [["x"]]}, content_type="application/json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"]  # the serializer saw the body


def test_malformed_json_is_still_the_usual_parse_error(owner_client):
    response = owner_client.post("/api/v1/patients", data="{not json", content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert error["message"].startswith("JSON parse error")


@pytest.mark.parametrize(
    ("value", "limit", "exceeds"),
    [
        (1, 0, False),
        ({}, 1, False),
        ({}, 0, True),
        ({"a": [1, {"b": []}]}, 4, False),
        ({"a": [1, {"b": []}]}, 3, True),
        ([[], [[]], []], 3, False),
        ([[], [[[]]], []], 3, True),
    ],
)
def test_depth_check(value, limit, exceeds):
    assert json_depth_exceeds(value, limit) is exceeds


def test_depth_check_of_a_very_deep_value_does_not_recurse():
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert json_depth_exceeds(value, 32)
