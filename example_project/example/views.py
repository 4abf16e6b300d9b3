"""The example site's pages, one per part of django-everreal."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from django_everreal.decorators import scope_required
from django_everreal.exceptions import GraphQLError
from django_everreal.middleware import EverRealRequest
from django_everreal.models import Account
from django_everreal.models import WebhookEvent

#: EverReal's GraphQL users query, paged.
USERS_QUERY = """
query Users($input: UsersInput) {
  users(input: $input) { id email firstName lastName isTenant }
}
"""
PAGE_SIZE = 5
#: Webhook events shown, the latest first.
EVENTS_SHOWN = 50
#: Seconds between reloads of the events page while some wait to be processed.
EVENTS_REFRESH = 2
#: The event the publish button has the fake EverReal deliver.
PUBLISHED = "LISTING_PUBLISHED_TO_CHANNEL"


def linked_account(request: HttpRequest) -> Account | None:
    """The logged-in user's EverReal account; ``None`` for users never linked."""
    if not request.user.is_authenticated:
        return None
    return (
        Account.objects.select_related("current_company__partner")
        .filter(user=request.user)
        .first()
    )


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "example/home.html")


def login(request: HttpRequest) -> HttpResponse:
    """``LOGIN_URL``: the EverReal login button, carrying ``next`` along."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    account = linked_account(request)
    context = {
        "next": next_url,
        "login_expired": account is not None and account.reauth_required,
    }
    return render(request, "example/login.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The EverReal account as the last login saw it."""
    account = linked_account(request)
    memberships = (
        account.memberships.select_related("company__partner").order_by("company__name")
        if account is not None
        else []
    )
    context = {"account": account, "memberships": memberships}
    return render(request, "example/profile.html", context)


@scope_required("company_portfolio_all")
def portfolio(request: HttpRequest) -> HttpResponse:
    """Only for users whose EverReal login granted ``company_portfolio_all``."""
    account = linked_account(request)
    companies = account.companies.order_by("name") if account is not None else []
    return render(request, "example/portfolio.html", {"companies": companies})


@login_required
def message_templates(request: HttpRequest) -> HttpResponse:
    """Open to every user; the template shows what their scopes allow."""
    return render(request, "example/message_templates.html")


@login_required
def directory(request: EverRealRequest) -> HttpResponse:
    """EverReal's user directory, read through ``request.everreal``, page by page."""
    page = page_number(request.GET.get("page"))
    context: dict[str, Any] = {"page": page, "linked": request.everreal is not None}
    if request.everreal is not None:
        try:
            data = request.everreal.graphql(
                USERS_QUERY,
                {
                    "input": {
                        # One more than shown, to know whether a next page exists.
                        "paging": {
                            "skip": (page - 1) * PAGE_SIZE,
                            "take": PAGE_SIZE + 1,
                        }
                    }
                },
            )
        except GraphQLError as exc:
            context["error"] = exc
        else:
            users = data.get("users") or []
            context.update(
                users=users[:PAGE_SIZE],
                first_number=(page - 1) * PAGE_SIZE + 1,
                previous_page=page - 1 if page > 1 else None,
                next_page=page + 1 if len(users) > PAGE_SIZE else None,
            )
    return render(request, "example/directory.html", context)


def page_number(value: str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return max(number, 1)


@login_required
def events(request: HttpRequest) -> HttpResponse:
    """EverReal's webhook deliveries and how far their processing got."""
    latest = list(WebhookEvent.objects.order_by("-received_at", "-pk")[:EVENTS_SHOWN])
    for event in latest:
        event.summary = Truncator(  # type: ignore[attr-defined]
            json.dumps(event.data, ensure_ascii=False, sort_keys=True)
        ).chars(80)
    waiting = any(
        event.status in (WebhookEvent.PENDING, WebhookEvent.PROCESSING)
        for event in latest
    )
    context = {
        "events": latest,
        "uses_fake": settings.EXAMPLE_USES_FAKE_EVERREAL,
        "waiting": waiting,
        "refresh_seconds": EVENTS_REFRESH,
    }
    return render(request, "example/events.html", context)


@require_POST
@login_required
def publish_listing(request: HttpRequest) -> HttpResponse:
    """Have the fake EverReal deliver ``LISTING_PUBLISHED_TO_CHANNEL`` to its receivers."""
    if not settings.EXAMPLE_USES_FAKE_EVERREAL:
        raise Http404
    url = f"{settings.SOCIAL_AUTH_EVERREAL_BASE_URL.rstrip('/')}/_fake/webhooks/deliver"
    body = {
        "type": PUBLISHED,
        "data": {"listingId": str(uuid.uuid4()), "channel": "IMMOSCOUT24"},
    }
    try:
        response = requests.post(url, json=body, timeout=10)
        response.raise_for_status()
        delivered = response.json().get("delivered") or []
    except (requests.RequestException, ValueError, AttributeError) as exc:
        messages.error(
            request,
            gettext("The fake EverReal did not deliver the event: %(reason)s")
            % {"reason": type(exc).__name__},
        )
        return redirect("events")
    received = sum(1 for answer in delivered if answer.get("status") == 200)
    if not delivered:
        messages.warning(
            request,
            gettext(
                "No receiver is registered for %(type)s: "
                "run manage.py everreal_webhooks sync."
            )
            % {"type": PUBLISHED},
        )
    else:
        messages.success(
            request,
            ngettext(
                "The fake EverReal published a listing; %(count)d receiver took it.",
                "The fake EverReal published a listing; %(count)d receivers took it.",
                received,
            )
            % {"count": received},
        )
    return redirect("events")
