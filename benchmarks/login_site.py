"""The site ``bench sync``'s whole logins go through: the app's login and one wired by hand.

``/auth/`` is the app's (``django_everreal.urls``, ``EverRealOAuth2``, the
pipeline of the README); ``/plain/`` is social-app-django's own
``social_django.urls`` with ``PlainEverRealOAuth2``, the minimal backend a
site writes for EverReal by hand, and social-core's default pipeline. Both
log in at the same fake EverReal. ``benchmarks.settings_logins`` names this
module as the URLconf.
"""

from __future__ import annotations

from typing import Any

from django.urls import include
from django.urls import path
from social_core.backends.oauth import BaseOAuth2PKCE

#: The fake EverReal's origin (``django_everreal.testing``'s default).
ORIGIN = "https://demo.everreal.co"


class PlainEverRealOAuth2(BaseOAuth2PKCE):  # type: ignore[type-arg]
    """EverReal as a site wires it into social-core by hand: URLs, scope, user details.

    The tokens go where social-core puts them, in ``UserSocialAuth.extra_data``;
    no companies, no scopes as permissions.
    """

    name = "plain"
    AUTHORIZATION_URL = ORIGIN + "/accounts/dialog/authorize"
    ACCESS_TOKEN_URL = ORIGIN + "/accounts/oauth/token"
    USERINFO_URL = ORIGIN + "/accounts/api/userinfo"
    ACCESS_TOKEN_METHOD = "POST"  # noqa: S105 -- a method
    ACCESS_TOKEN_PAYLOAD = "json"  # noqa: S105 -- a format
    DEFAULT_SCOPE = ["offline_access", "*"]
    SCOPE_SEPARATOR = " "
    REDIRECT_STATE = False
    EXTRA_DATA = [("refresh_token", "refresh_token", True), ("expires_in", "expires")]

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "username": response.get("email") or "",
            "email": response.get("email") or "",
            "first_name": response.get("firstName") or "",
            "last_name": response.get("lastName") or "",
        }

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> Any:
        return self.get_json(
            self.USERINFO_URL, headers={"Authorization": f"Bearer {access_token}"}
        )


# social-app-django reverses "social:complete" for a backend's redirect URI:
# the plain site's own URLs are that namespace's default instance. The app's
# backend sends its registered redirect URI (SOCIAL_AUTH_EVERREAL_REDIRECT_URI).
urlpatterns = [
    path("plain/", include("social_django.urls")),
    path("auth/", include(("django_everreal.urls", "social"), namespace="everreal")),
]
