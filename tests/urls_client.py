from __future__ import annotations

from django.urls import include
from django.urls import path

from tests import views_client as views

urlpatterns = [
    path("auth/", include("django_everreal.urls")),
    path("userinfo/", views.userinfo),
    path("untouched/", views.untouched),
    path("async-userinfo/", views.async_userinfo),
    path("directory/", views.directory),
]
