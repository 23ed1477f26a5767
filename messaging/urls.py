"""The staff WhatsApp inbox, mounted at /inbox/."""

from django.urls import URLPattern, path

from messaging import chart_views, views

app_name = "inbox"

urlpatterns: list[URLPattern] = [
    path("", views.conversation_list, name="list"),
    path("<uuid:conversation_id>/", views.conversation_detail, name="detail"),
    path("<uuid:conversation_id>/reply/", views.conversation_reply, name="reply"),
    path("<uuid:conversation_id>/template/", views.conversation_template, name="template"),
    path("<uuid:conversation_id>/read/", views.conversation_read, name="read"),
    path("<uuid:conversation_id>/link/", views.conversation_link, name="link"),
    path("<uuid:conversation_id>/unlink/", views.conversation_unlink, name="unlink"),
    path("<uuid:conversation_id>/retain/", views.conversation_retain, name="retain"),
    path("<uuid:conversation_id>/lines/", chart_views.conversation_lines, name="lines"),
    path("media/<uuid:message_id>/", views.media_download, name="media"),
    # the conversation panel on the patient chart
    path("patient/<uuid:patient_id>/lines/", chart_views.patient_lines, name="patient-lines"),
    path("patient/<uuid:patient_id>/reply/", chart_views.patient_reply, name="patient-reply"),
    path("patient/<uuid:patient_id>/template/", chart_views.patient_template, name="patient-template"),
    path("patient/<uuid:patient_id>/document/", chart_views.patient_document, name="patient-document"),
]
