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
