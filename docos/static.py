"""Static files in production: WhiteNoise (docos.settings.base MIDDLEWARE) serves what
`manage.py collectstatic` wrote with `DOCOS_COMPRESSED_STATICFILES` (hashed names, gzip copies), so a
browser asking with `Accept-Encoding: gzip` gets the compressed copy and keeps hashed files for a year.
"""

from __future__ import annotations

from collections.abc import MutableMapping


def add_headers(headers: MutableMapping[str, str], path: str, url: str) -> None:
    """WhiteNoise's hook: the headers SecurityMiddleware gives every other response (it runs later)."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
