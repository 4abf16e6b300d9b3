"""The load site's own pages: a login form (for the CSRF cookie) and who is logged in."""

from __future__ import annotations

from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from django_everreal.models import Account


@never_cache
def login_page(request: HttpRequest) -> HttpResponse:
    """A page with the login button, as a browser sees it first; sets ``csrftoken``."""
    return HttpResponse(
        format_html(
            '<!DOCTYPE html><title>Log in</title><form method="post" action="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">Log in with EverReal</button></form>',
            reverse("social:begin", args=("everreal",)),
            get_token(request),
        )
    )


@never_cache
def me(request: HttpRequest) -> JsonResponse:
    """The session's user and the EverReal account linked to it."""
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False})
    everreal_id = (
        Account.objects.filter(user_id=request.user.pk)
        .values_list("everreal_id", flat=True)
        .first()
    )
    return JsonResponse(
        {
            "authenticated": True,
            "username": request.user.get_username(),
            "everreal_id": everreal_id,
        }
    )
