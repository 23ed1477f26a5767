"""The walk-in queue and its waiting-area board, mounted at /queue/ (namespace "queue")."""

from django.urls import URLPattern, URLResolver, path

from appointments import consult_flow, views

app_name = "queue"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="list"),
    path("walk-in", views.walk_in, name="walk-in"),
    path("board", views.queue_board, name="board"),
    path("board/data", views.queue_board_data, name="board-data"),
    path("<uuid:entry_id>/call", views.queue_call, name="call"),
    path("<uuid:entry_id>/done", views.queue_finish, name="done"),
    path("<uuid:entry_id>/left", views.queue_left, name="left"),
    path("consult/<uuid:patient_id>/sign-next", consult_flow.sign_and_next, name="sign-next"),
]
