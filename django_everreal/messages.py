"""What this app tells people: every user-facing message, in one place, translated.

Views, the middleware, the REST framework and Ninja classes and the admin
read their words here, so one failure reads the same wherever it shows.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

UNREACHABLE = _("EverReal cannot be reached right now. Please try again in a moment.")
BUSY = _("EverReal is busy right now. Please try again in a moment.")
MISUNDERSTOOD = _("EverReal sent an answer this site does not understand.")
MISCONFIGURED = _(
    "This site's EverReal login is misconfigured. Please tell the site's administrators."
)
LOGIN_AGAIN = _(
    "Your EverReal login has expired or was already used. Please log in again."
)
SESSION_EXPIRED = _(
    "Your login session expired or was already used. Please log in again."
)
CANCELLED = _("You cancelled the EverReal login.")

#: A login's failure by python-social-auth's error code (and this app's own).
LOGIN_FAILURES: dict[str, Promise] = {
    "authorization_declined": CANCELLED,
    "missing_parameter": _("The EverReal login was interrupted. Please log in again."),
    "session_context_missing": SESSION_EXPIRED,
    "state_mismatch": SESSION_EXPIRED,
    "authentication_disallowed": _(
        "Your EverReal account may not log in to this site."
    ),
    "linked_to_another_customer": _(
        "You are logged in with an EverReal account of another customer. "
        "Log out first, then log in with this one."
    ),
    "unknown_customer": _("This site has no EverReal login for that customer."),
    "connection_failed": UNREACHABLE,
    "timeout": _("EverReal did not answer in time. Please try again in a moment."),
    "unavailable": _(
        "EverReal is unavailable right now. Please try again in a moment."
    ),
    "rate_limited": BUSY,
    "disconnect_disallowed": _(
        "EverReal is the only way you log in to this site, so it cannot be "
        "unlinked. Set a password first."
    ),
    "database_error": _(
        "This site could not complete your login just now. Please try again in a moment."
    ),
    "malformed_response": MISUNDERSTOOD,
    "missing_claim": MISUNDERSTOOD,
    "invalid_setting": MISCONFIGURED,
    "missing_setting": MISCONFIGURED,
}
LOGIN_FAILED = _("The EverReal login failed. Please try again.")
DISCONNECT_HEADING = _("EverReal stays linked")

REAUTHENTICATION_REQUIRED = _("Your EverReal login has expired. Please log in again.")
REFUSED = _("EverReal could not answer this request.")
SCOPES_MISSING = _("You do not have the EverReal scopes this action requires.")
TOKEN_INVALID = _("The EverReal access token is not valid.")

#: EverReal's auth server's reasons (``error_description``), as people should read them.
HEIMDALL_MESSAGES: dict[str, Promise] = {
    "heimdall.validation.user.does.not.exist": _("EverReal does not know this user."),
    "heimdall.validation.user.is.inactive": _("Your EverReal account is deactivated."),
    "heimdall.validation.password.invalid": _(
        "The email address or password is wrong."
    ),
    "heimdall.validation.user.denied.access": CANCELLED,
    "heimdall.validation.code.invalid": LOGIN_AGAIN,
    "heimdall.validation.code.expired": LOGIN_AGAIN,
    "heimdall.validation.code.already.used": LOGIN_AGAIN,
    "heimdall.validation.code.verifier.missing": LOGIN_AGAIN,
    "heimdall.validation.code.verifier.invalid": LOGIN_AGAIN,
    "heimdall.validation.refresh.token.invalid": LOGIN_AGAIN,
    "heimdall.validation.refresh.token.revoked": LOGIN_AGAIN,
    "heimdall.validation.refresh.token.expired": LOGIN_AGAIN,
    "heimdall.validation.refresh.token.client.mismatch": LOGIN_AGAIN,
    "heimdall.validation.code.client.mismatch": MISCONFIGURED,
    "heimdall.validation.redirect.uri.mismatch": MISCONFIGURED,
    "heimdall.validation.code.verifier.unexpected": MISCONFIGURED,
    "heimdall.validation.client.credentials.missing": MISCONFIGURED,
    "heimdall.validation.client.invalid": MISCONFIGURED,
    "heimdall.validation.parameter.missing": MISCONFIGURED,
    "heimdall.validation.body.invalid": MISCONFIGURED,
    "heimdall.validation.grant.type.unsupported": MISCONFIGURED,
    "heimdall.validation.scope.invalid": MISCONFIGURED,
    "heimdall.validation.response.type.unsupported": MISCONFIGURED,
    "heimdall.validation.code.challenge.method.unsupported": MISCONFIGURED,
    "heimdall.validation.rate.limit.exceeded": BUSY,
}


def heimdall_message(description: object) -> Promise | None:
    """EverReal's reason in words, when it is one of the known ``heimdall.*`` codes."""
    if isinstance(description, str):
        return HEIMDALL_MESSAGES.get(description.strip())
    return None
