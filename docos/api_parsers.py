"""The API's JSON parser (DRF's default parser for every operation, see REST_FRAMEWORK in settings).

DRF's JSONParser turns malformed JSON into a 400 but lets RecursionError through: a body nested
about 1,000 levels deep made every operation answer 500. Here deep nesting is a 400 `parse_error`
in the API's error shape. A body that the C parser still accepts (a few hundred levels) is refused
too, past DOCOS_API_MAX_JSON_DEPTH: no operation takes more than a few levels, and deeper values
would only reach code that recurses again (serializers, json.dumps into a JSONField, jsonb).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` (parsed JSON) nests lists/objects more than `limit` levels. Iterative, so the
    check itself cannot run out of stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _too_deep() -> exceptions.ParseError:
    limit = int(settings.DOCOS_API_MAX_JSON_DEPTH)
    return exceptions.ParseError(f"JSON parse error - the body nests more than {limit} levels deep.")


class BoundedJSONParser(JSONParser):
    """JSONParser that answers 400 (not 500) to deeply nested bodies."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if json_depth_exceeds(data, int(settings.DOCOS_API_MAX_JSON_DEPTH)):
            raise _too_deep()
        return data
