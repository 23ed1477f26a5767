"""Static files in production: hashed, gzip-compressed by collectstatic and served compressed by
WhiteNoise (the API docs' Swagger UI bundle is most of a page's weight)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.http import HttpResponse
from django.templatetags.static import static
from django.test import RequestFactory, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

from docos.static import add_headers

ROOT = Path(__file__).resolve().parents[2]
SWAGGER_BUNDLE = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


def test_production_settings_serve_static_files_with_whitenoise_and_compressed_storage():
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 50,
        "DOCOS_ENCRYPTION_KEYS": "unused",
        "DATABASE_URL": "postgres://u@127.0.0.1/db",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    code = (
        "import json, docos.settings.prod as s; "
        "print(json.dumps({'middleware': s.MIDDLEWARE, 'static': s.STORAGES['staticfiles']['BACKEND']}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    middleware = found["middleware"]
    # Static files are answered before the tenant is looked up (no database query for a .js file).
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") < middleware.index(
        "clinics.middleware.ClinicTenantMiddleware"
    )


def test_collected_static_files_are_served_gzipped_with_hashed_names_cached_for_a_year(tmp_path):
    with override_settings(
        STATIC_ROOT=tmp_path,
        STORAGES={**settings.STORAGES, "staticfiles": settings.DOCOS_COMPRESSED_STATICFILES},
        WHITENOISE_ADD_HEADERS_FUNCTION=add_headers,
        DEBUG=False,
    ):
        # Without Redoc (not served: the docs page is Swagger UI), which compressing would only make slower.
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["redoc"])
        url = static(SWAGGER_BUNDLE)
        assert url != f"/static/{SWAGGER_BUNDLE}"  # a content-hashed name
        middleware = WhiteNoiseMiddleware(lambda request: HttpResponse(status=404))
        raw_size = (tmp_path / SWAGGER_BUNDLE).stat().st_size

        response = middleware(RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br"))
        assert response.status_code == 200
        assert response["Content-Encoding"] in ("br", "gzip")  # Brotli where the brotli package is installed
        assert int(response["Content-Length"]) < raw_size / 3, (response["Content-Length"], raw_size)
        assert "max-age=315360000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]
        assert response["X-Content-Type-Options"] == "nosniff"
        response.file_to_stream.close()  # not response.close(): its request_finished signal reaches for the database

        plain = middleware(RequestFactory().get(url))  # a client without gzip gets the file as it is
        assert "Content-Encoding" not in plain and int(plain["Content-Length"]) == raw_size
        plain.file_to_stream.close()
        page_css = middleware(RequestFactory().get(static("css/docos.css"), HTTP_ACCEPT_ENCODING="gzip"))  # ours too
        assert page_css.status_code == 200 and page_css["Content-Encoding"] == "gzip"
        page_css.file_to_stream.close()
