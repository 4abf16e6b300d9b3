"""URLs of ``bench webhooks``: the app's receiver, and the least a receiver must do.

``/baseline/`` reads the body, parses the JSON and inserts one row into the
receiver's own table (``WebhookEvent``, same indexes): no secret in the URL,
no checks, no duplicate handling, no queueing. The receiver over it is what
the app's receiver costs beyond that.
"""

from __future__ import annotations

import json

from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.urls import include
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from django_everreal.models import WebhookEvent


@csrf_exempt
def baseline(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body)
    WebhookEvent.objects.create(
        uuid=body["uuid"], event_type=body["operation"], data=body["data"]
    )
    return JsonResponse({"status": "received"})


urlpatterns = [
    path("auth/", include("django_everreal.urls")),
    path("baseline/", baseline),
]
