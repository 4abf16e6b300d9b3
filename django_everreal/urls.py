"""URLs of the EverReal login: ``path("auth/", include("django_everreal.urls"))``.

They replace ``social_django.urls`` (same names, in the ``social`` namespace)
with a login start and a callback that turn every failure into a clear page.
"""

from __future__ import annotations

from django.urls import path
from social_django import views as social_views

from django_everreal import views

app_name = "social"

urlpatterns = [
    path("login/<str:backend>/", views.begin, name="begin"),
    path("complete/<str:backend>/", views.complete, name="complete"),
    path("disconnect/<str:backend>/", social_views.disconnect, name="disconnect"),
    path(
        "disconnect/<str:backend>/<int:association_id>/",
        social_views.disconnect,
        name="disconnect_individual",
    ),
]
