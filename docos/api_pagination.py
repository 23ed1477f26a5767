"""The API's one pagination: `?page=N`, 50 per page, `{"count", "next", "previous", "results"}`.

A `page` that is not a whole number of at least 1, or lies past the last page, is a bad query
parameter: 400 `invalid` naming `page` (DRF's default answers 404 "Invalid page.").

List views that are plain `APIView`s set `pagination_class = ApiPagination` so drf-spectacular
documents their `X(many=True)` responses as `PaginatedXList` components and adds the `page`
parameter; they paginate with `paginate(view, request, queryset, serialize)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.paginator import InvalidPage
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

PAGE_SIZE = 50


class ApiPagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_query_description = f"Page number, from 1 ({PAGE_SIZE} per page). A page past the last one answers 400."
    last_page_strings = ()

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        raw = request.query_params.get(self.page_query_param) or "1"
        # At most 9 digits: int() of thousands of digits raises (Python's conversion limit), a 500.
        if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
            raise serializers.ValidationError({self.page_query_param: ["A page number is a whole number from 1."]})
        paginator = self.django_paginator_class(queryset, self.page_size)
        try:
            self.page = paginator.page(int(raw))
        except InvalidPage as exc:
            message = f"There is no page {int(raw)}; the last page is {paginator.num_pages}."
            raise serializers.ValidationError({self.page_query_param: [message]}) from exc
        return list(self.page)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]
        paginated["properties"]["count"]["minimum"] = 0
        paginated["properties"]["count"]["description"] = "How many objects match, on all pages together."
        paginated["properties"]["next"]["description"] = "The next page's URL; null on the last page."
        paginated["properties"]["previous"]["description"] = "The previous page's URL; null on the first page."
        paginated["properties"]["next"]["example"] = "https://sunrise.docos.in/api/v1/patients?page=4"
        paginated["properties"]["previous"]["example"] = "https://sunrise.docos.in/api/v1/patients?page=2"
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": 1}
        return parameters


def paginate(
    view: Any,
    request: Request,
    items: Iterable[Any],
    serialize: Callable[[Any], Any],
    on_page: Callable[[list[Any]], None] | None = None,
) -> Response:
    """One page of `items` (a queryset or list), each turned into data by `serialize`; `on_page` sees
    the page's objects first (e.g. to log the reads of the patients it shows)."""
    paginator = ApiPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    if on_page is not None:
        on_page(page)
    return paginator.get_paginated_response([serialize(obj) for obj in page])
