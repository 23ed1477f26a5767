"""The local-only DICOM viewer: a public page on the bare domain that opens DICOM files from the visitor's
own disk and renders them in the browser (dwv, bundled by `make install` into static/build/).

The server only hands out the page and its static files. The files a visitor opens are read by the
browser's File API and never sent: the page has no form and makes no request of its own, and its
service worker (`sw.js`, scoped to this page) keeps the page and every file it needs, so it also works
with the network off once loaded. Both responses are the same for every visitor: no session, no tenant.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from docos.permissions import public

BUNDLE = "build/local_viewer.js"
# Everything the page loads, which the service worker stores on install (static names; the storage
# turns them into hashed URLs in production). dwv's decoders start only for compressed pixel data.
STATIC_ASSETS = (
    "css/docos.css",
    "css/local_viewer.css",
    "js/docos.js",
    "img/favicon.svg",
    BUNDLE,
    "build/assets/workers/jpeg2000.worker.min.js",
    "build/assets/workers/jpegbaseline.worker.min.js",
    "build/assets/workers/jpegloss.worker.min.js",
    "build/assets/workers/rle.worker.min.js",
)


@cache
def _bundle_version() -> str:
    """A digest of the built bundle: a rebuilt bundle makes a new cache, so no visitor keeps an old one."""
    found = finders.find(BUNDLE)
    if not found:
        return "missing"
    with open(found if isinstance(found, str) else found[0], "rb") as bundle:
        return hashlib.sha256(bundle.read()).hexdigest()[:16]


@public
@require_GET
def local_viewer(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "imaging/local_viewer.html",
        {"service_worker_url": reverse("local-viewer-sw"), "scope": reverse("local-viewer")},
    )
    response["Cache-Control"] = "no-cache"  # always revalidated online; the service worker serves it offline
    return response


@public
@require_GET
def local_viewer_service_worker(request: HttpRequest) -> HttpResponse:
    assets = [reverse("local-viewer"), *(static(name) for name in STATIC_ASSETS)]
    version = f"{_bundle_version()}-{hashlib.sha256('|'.join(assets).encode()).hexdigest()[:8]}"
    # JSON is JavaScript: the URLs are our own (reverse() and static()), the version is hex.
    body = render_to_string("imaging/local_viewer_sw.js", {"assets_json": json.dumps(assets), "version": version})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check for a new worker on every visit
    return response
