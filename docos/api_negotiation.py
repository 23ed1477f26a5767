"""Content negotiation for /api/v1/: the API always answers JSON (or the file a download route
streams), whatever the `Accept` header or `?format=` ask for, instead of DRF's 406 Not Acceptable
(or 404 for an unknown `?format=`).

A generated client sends `Accept: application/pdf` to a PDF route and a browser `text/html`; both
get the documented response, and an error on those routes is the API's JSON error shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JsonAlwaysNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, Any]:
        renderers = list(renderers)
        try:
            return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        """`?format=` picks a renderer when one has that format (the schema's `?format=json`); an
        unknown format is ignored rather than answered with DRF's 404."""
        renderers = list(renderers)
        return [renderer for renderer in renderers if renderer.format == format] or renderers
