"""DICOMweb (imaging/dicomweb_views.py), included from docos.urls_tenant at "dicomweb/".

Give a viewer such as OHIF `https://<clinic host>/dicomweb` as its QIDO and WADO root, with an API
token of the clinic (Settings → API tokens) as `Authorization: Bearer docos_...`.
"""

from django.urls import URLPattern, path

from imaging import dicomweb_views as views

STUDY = "studies/<str:study_uid>"
SERIES = STUDY + "/series/<str:series_uid>"
INSTANCE = SERIES + "/instances/<str:sop_uid>"

urlpatterns: list[URLPattern] = [
    # QIDO-RS
    path("studies", views.StudiesSearch.as_view(), name="dicomweb-studies"),
    path("series", views.SeriesSearch.as_view(), name="dicomweb-series"),
    path("instances", views.InstancesSearch.as_view(), name="dicomweb-instances"),
    path(STUDY + "/series", views.SeriesSearch.as_view(), name="dicomweb-study-series"),
    path(STUDY + "/instances", views.InstancesSearch.as_view(), name="dicomweb-study-instances"),
    path(SERIES + "/instances", views.InstancesSearch.as_view(), name="dicomweb-series-instances"),
    # WADO-RS
    path(STUDY, views.Retrieve.as_view(), name="dicomweb-study"),
    path(SERIES, views.Retrieve.as_view(), name="dicomweb-series-retrieve"),
    path(INSTANCE, views.Retrieve.as_view(), name="dicomweb-instance"),
    path(STUDY + "/metadata", views.Metadata.as_view(), name="dicomweb-study-metadata"),
    path(SERIES + "/metadata", views.Metadata.as_view(), name="dicomweb-series-metadata"),
    path(INSTANCE + "/metadata", views.Metadata.as_view(), name="dicomweb-instance-metadata"),
    path(INSTANCE + "/frames/<str:frames>", views.Frames.as_view(), name="dicomweb-frames"),
]
