from __future__ import annotations

from django.urls import include
from django.urls import path

from tests.load import views

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("me/", views.me, name="me"),
    path("auth/", include("django_everreal.urls")),
]
