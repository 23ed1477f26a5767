"""The local-only DICOM viewer on the public site (docos/urls_public.py includes this under dicom-viewer/)."""

from django.urls import URLPattern, path

from imaging import local_viewer

urlpatterns: list[URLPattern] = [
    path("", local_viewer.local_viewer, name="local-viewer"),
    path("sw.js", local_viewer.local_viewer_service_worker, name="local-viewer-sw"),
]
