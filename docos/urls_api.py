"""/api/v1/: the schema, its docs page, each app's endpoints, and a JSON 404 for everything else.

Add an app's API with `path("", include("<app>.api_urls"))` ABOVE the catch-all, which must stay last.
"""

from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from docos import api_errors
from docos.permissions import public


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from our static files (drf-spectacular-sidecar); its init script is a
    separate same-origin request and the page has no inline script or style, so the strict CSP holds."""

    template_name = "docos/api_docs.html"
    url_name = "api-schema"
    permission_classes = []  # public page: the allowlist in tests/test_url_capabilities.py names it


urlpatterns: list[URLPattern | URLResolver] = [
    path("schema/", public(SpectacularAPIView.as_view(permission_classes=[])), name="api-schema"),
    path("docs/", public(ApiDocsView.as_view()), name="api-docs"),
    path("", include("accounts.api_urls")),
    path("", include("patients.api_urls")),
    path("", include("clinical.api_urls")),
    path("", include("documents.api_urls")),
    path("", include("appointments.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("billing.api_urls")),
    # Keep last: any other URL under /api/v1/ answers the API's JSON 404 ([\s\S], not `.`: also a path with a
    # newline in it, e.g. a malformed id, which a plain `.*` would leave to Django's HTML 404 page).
    re_path(r"^[\s\S]*$", api_errors.not_found, name="api-not-found"),
]
