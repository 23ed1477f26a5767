"""Share links (imaging/share_views.py), included from docos.urls_tenant at "/".

The `share/imaging/<secret>/...` routes are public on the clinic's host (the link is the credential);
tests/test_url_capabilities.py lists them in PUBLIC_TENANT_ROUTES.
"""

from django.urls import URLPattern, path

from imaging import share_views

urlpatterns: list[URLPattern] = [
    path("imaging/studies/<uuid:study_id>/shares", share_views.study_shares, name="imaging-study-shares"),
    path(
        "imaging/studies/<uuid:study_id>/shares/<uuid:share_id>/revoke",
        share_views.share_revoke,
        name="imaging-share-revoke",
    ),
    path("share/imaging/<str:token>/", share_views.share_open, name="imaging-share-open"),
    path("share/imaging/<str:token>/code", share_views.share_code_send, name="imaging-share-code"),
    path("share/imaging/<str:token>/verify", share_views.share_code_verify, name="imaging-share-verify"),
    path("share/imaging/<str:token>/manifest", share_views.share_manifest, name="imaging-share-manifest"),
    path(
        "share/imaging/<str:token>/images/<uuid:instance_id>/frames/<int:frame>.png",
        share_views.share_frame,
        name="imaging-share-frame",
    ),
]
