"""The local-only DICOM viewer page and its service worker, as the server hands them out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client


def _public() -> Client:
    return Client(HTTP_HOST=settings.DOCOS_BASE_DOMAIN)


def test_local_viewer_page_is_public_and_loads_only_its_own_bundle(db: Any) -> None:
    response = _public().get("/dicom-viewer/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<script type="module" src="/static/build/local_viewer.js"></script>' in html
    assert 'data-service-worker="/dicom-viewer/sw.js"' in html
    assert "<form" not in html  # nothing on the page posts anywhere
    assert "http://" not in html and "https://" not in html  # no CDN, no outside address
    assert response["Cache-Control"] == "no-cache"


def test_local_viewer_keeps_the_strict_content_security_policy(db: Any) -> None:
    policy = _public().get("/dicom-viewer/")["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert "unsafe" not in policy


def test_service_worker_stores_the_page_and_every_static_file_it_loads(db: Any) -> None:
    response = _public().get("/dicom-viewer/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    for url in (
        "/dicom-viewer/",
        "/static/build/local_viewer.js",
        "/static/css/local_viewer.css",
        "/static/css/docos.css",
        "/static/js/docos.js",
        "/static/build/assets/workers/jpeg2000.worker.min.js",
    ):
        assert f'"{url}"' in body
    assert 'const CACHE = "docos-local-viewer-' in body
    assert 'request.method !== "GET"' in body  # never answers (or stores) anything but GETs


def test_local_viewer_is_on_the_public_site_only(clinic_a: Any) -> None:
    assert Client(HTTP_HOST=clinic_a.host).get("/dicom-viewer/").status_code == 404
