"""A small Ninja API authenticated by EverReal access tokens, for tests/test_ninja.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI

from django_everreal.ninja import EverRealBearer
from django_everreal.ninja import add_bearer_challenge

api = NinjaAPI(auth=EverRealBearer(), urls_namespace="everreal-ninja-tests")
add_bearer_challenge(api)


@api.get("/me")
def me(request: HttpRequest) -> dict[str, Any]:
    return {
        "user": request.user.get_username(),
        "auth": request.auth.get_username(),  # type: ignore[attr-defined]
        "company_user": request.user.has_perm("everreal.company_user"),
        "company_admin": request.user.has_perm("everreal.company_admin"),
    }


@api.get("/async-me")
async def async_me(request: HttpRequest) -> dict[str, Any]:
    return {"user": request.user.get_username()}


plain = NinjaAPI(auth=EverRealBearer(), urls_namespace="everreal-ninja-plain")


@plain.get("/me")
def plain_me(request: HttpRequest) -> dict[str, Any]:
    return {"user": request.user.get_username()}


urlpatterns = [path("api/", api.urls), path("plain/", plain.urls)]
