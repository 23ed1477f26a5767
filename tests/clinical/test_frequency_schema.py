"""The API schema's frequency pattern promises exactly what the service accepts: a client (or the
contract test) that writes a schema-valid frequency is never refused, and "never" (all zeros) is
outside the schema as it is outside the service."""

from __future__ import annotations

import itertools
import re

import pytest
from django.core.exceptions import ValidationError

from clinical.api import FREQUENCY_PATTERN
from clinical.services import FREQUENCY_WORDS, normalize_frequency

SLOTS = ["0", "0.0", "1", "½", "1/2", "00", "0.5", "10", "2.5", "12.5"]


def _accepted(text: str) -> bool:
    try:
        normalize_frequency(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("count", [3, 4])
def test_the_pattern_matches_the_slots_the_service_accepts(count: int) -> None:
    pattern = re.compile(FREQUENCY_PATTERN)
    disagreements = [
        text
        for text in ("-".join(combo) for combo in itertools.product(SLOTS, repeat=count))
        if bool(pattern.match(text)) != _accepted(text)
    ]
    assert disagreements == []


def test_all_zeros_is_outside_the_schema() -> None:
    pattern = re.compile(FREQUENCY_PATTERN)
    for text in ("0-0-0", "0-0-0-0", "0.0-0-0", "0-0.0-0-0"):
        assert not pattern.match(text)
        assert not _accepted(text)


def test_every_word_the_service_knows_is_in_the_schema() -> None:
    pattern = re.compile(FREQUENCY_PATTERN)
    assert all(pattern.match(word) for word in FREQUENCY_WORDS)
