"""WhatsApp inbox API routes, mounted at /api/v1/ (see docos/urls_api.py)."""

from django.urls import URLPattern, URLResolver, path

from messaging import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("conversations", api.ConversationListView.as_view(), name="api-conversations"),
    path("conversations/<uuid:id>", api.ConversationDetailView.as_view(), name="api-conversation-detail"),
    path("conversations/<uuid:id>/messages", api.ConversationMessagesView.as_view(), name="api-conversation-messages"),
    path("conversations/<uuid:id>/read", api.ConversationReadView.as_view(), name="api-conversation-read"),
]
