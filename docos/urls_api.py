from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.permissions import public

urlpatterns = [
    path("schema/", public(SpectacularAPIView.as_view(permission_classes=[])), name="api-schema"),
    path(
        "docs/", public(SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[])), name="api-docs"
    ),
    path("", include("accounts.api_urls")),
]
