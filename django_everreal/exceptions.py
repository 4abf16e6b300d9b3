"""Errors the app raises, and readable words for EverReal's ``heimdall.*`` codes."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from social_core.exceptions import AuthResponseError


class InvalidUserInfo(AuthResponseError):
    """EverReal's userinfo is not an object with an ``id``."""


# Known error descriptions of EverReal's auth server, as users should read them.
_RELOGIN = _(
    "Your EverReal login has expired or was already used. Please log in again."
)
_MISCONFIGURED = _(
    "This site's EverReal login is misconfigured. Please tell the site's administrators."
)
HEIMDALL_MESSAGES: dict[str, Promise] = {
    "heimdall.validation.user.does.not.exist": _("EverReal does not know this user."),
    "heimdall.validation.user.is.inactive": _("Your EverReal account is deactivated."),
    "heimdall.validation.password.invalid": _(
        "The email address or password is wrong."
    ),
    "heimdall.validation.user.denied.access": _("You cancelled the EverReal login."),
    "heimdall.validation.code.invalid": _RELOGIN,
    "heimdall.validation.code.expired": _RELOGIN,
    "heimdall.validation.code.already.used": _RELOGIN,
    "heimdall.validation.code.verifier.missing": _RELOGIN,
    "heimdall.validation.code.verifier.invalid": _RELOGIN,
    "heimdall.validation.refresh.token.invalid": _RELOGIN,
    "heimdall.validation.refresh.token.revoked": _RELOGIN,
    "heimdall.validation.refresh.token.expired": _RELOGIN,
    "heimdall.validation.refresh.token.client.mismatch": _RELOGIN,
    "heimdall.validation.code.client.mismatch": _MISCONFIGURED,
    "heimdall.validation.redirect.uri.mismatch": _MISCONFIGURED,
    "heimdall.validation.code.verifier.unexpected": _MISCONFIGURED,
    "heimdall.validation.client.credentials.missing": _MISCONFIGURED,
    "heimdall.validation.client.invalid": _MISCONFIGURED,
    "heimdall.validation.parameter.missing": _MISCONFIGURED,
    "heimdall.validation.body.invalid": _MISCONFIGURED,
    "heimdall.validation.grant.type.unsupported": _MISCONFIGURED,
    "heimdall.validation.scope.invalid": _MISCONFIGURED,
    "heimdall.validation.response.type.unsupported": _MISCONFIGURED,
    "heimdall.validation.code.challenge.method.unsupported": _MISCONFIGURED,
    "heimdall.validation.rate.limit.exceeded": _(
        "EverReal is busy right now. Please try again in a moment."
    ),
}


def heimdall_message(description: object) -> Promise | None:
    if isinstance(description, str):
        return HEIMDALL_MESSAGES.get(description.strip())
    return None
