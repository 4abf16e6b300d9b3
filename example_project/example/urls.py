from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include
from django.urls import path

from example import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("templates/", views.message_templates, name="message_templates"),
    path("directory/", views.directory, name="directory"),
    path("events/", views.events, name="events"),
    path("events/publish/", views.publish_listing, name="publish_listing"),
    path("admin/", admin.site.urls),
    # EverReal's login: /auth/login/everreal/ and /auth/complete/everreal/.
    path("auth/", include("django_everreal.urls")),
]
