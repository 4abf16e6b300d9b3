"""URLs of ``bench middleware``: the page measured, the EverReal login, mozilla-django-oidc's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http import HttpResponse
from django.urls import include
from django.urls import path


@login_required
def page(request: HttpRequest) -> HttpResponse:
    """A logged-in user's page that does not call EverReal: it shows the user's id."""
    return HttpResponse(str(request.user.pk), content_type="text/plain")


urlpatterns = [
    path("page/", page),
    path("auth/", include("django_everreal.urls")),
    # SessionRefresh reverses these names (its exempt URLs).
    path("oidc/", include("mozilla_django_oidc.urls")),
]
