from __future__ import annotations

from django.contrib import admin
from django.urls import include
from django.urls import path

from example import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("auth/", include("social_django.urls", namespace="social")),
]
