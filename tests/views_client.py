"""Views that use ``request.everreal``, for the middleware tests."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from django.http import JsonResponse

from django_everreal.middleware import EverRealRequest


def userinfo(request: EverRealRequest) -> HttpResponse:
    if request.everreal is None:
        return JsonResponse({"linked": False})
    return JsonResponse({"linked": True, "email": request.everreal.userinfo()["email"]})


def untouched(request: EverRealRequest) -> HttpResponse:
    return HttpResponse("no EverReal here")


async def async_userinfo(request: EverRealRequest) -> HttpResponse:
    client = await request.aeverreal()
    if client is None:
        return JsonResponse({"linked": False})
    payload = await sync_to_async(client.userinfo)()
    return JsonResponse({"linked": True, "email": payload["email"]})


def directory(request: EverRealRequest) -> HttpResponse:
    """The README's example: a page of EverReal's users through GraphQL."""
    assert request.everreal is not None
    data = request.everreal.graphql(
        "query Users($take: Int!) { users(input: {paging: {skip: 0, take: $take}}) { email } }",
        {"take": 2},
    )
    return JsonResponse({"emails": [user["email"] for user in data["users"]]})
