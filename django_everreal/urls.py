"""URLs of the EverReal login: ``path("auth/", include("django_everreal.urls"))``.

They replace ``social_django.urls`` (same names, in the ``social`` namespace)
with a login start, a callback and an unlinking that turn every failure into
a clear page.
"""

from __future__ import annotations

from django.urls import path

from django_everreal import views
from django_everreal import webhooks

app_name = "social"

urlpatterns = [
    path("login/<str:backend>/", views.begin, name="begin"),
    path("complete/<str:backend>/", views.complete, name="complete"),
    path("disconnect/<str:backend>/", views.disconnect, name="disconnect"),
    path(
        "disconnect/<str:backend>/<int:association_id>/",
        views.disconnect,
        name="disconnect_individual",
    ),
    path("webhooks/<str:token>/", webhooks.receive, name="everreal_webhook"),
]
