"""Every error the app raises; their words for people are in ``messages``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from social_core.exceptions import AuthResponseError

if TYPE_CHECKING:
    from django_everreal.protocol import TokenError


class InvalidUserInfo(AuthResponseError):
    """EverReal's userinfo is not an object with an ``id``."""


class InvalidTokenResponse(AuthResponseError):
    """EverReal's token response carries no usable tokens (``protocol.validate_token_response``).

    Its code is ``malformed_response``: at login the user reads that EverReal
    sent an answer this site does not understand. Its message never holds a
    token.
    """


class EverRealError(Exception):
    """Base of the errors of calls to EverReal's API."""


class AccountMismatch(EverRealError):
    """EverReal's answer is about another EverReal user than the account it was asked for.

    A re-sync never hands one person's account, and tokens, to another.
    """


class AccountNotLinked(EverRealError):
    """The user has no EverReal account: they never logged in with EverReal."""


class UnknownCustomer(AccountNotLinked):
    """No enabled EverReal customer of this site goes by that subdomain.

    An account of a customer that was removed or disabled is as good as
    unlinked: nothing is sent to EverReal for it. A login naming such a
    customer gets a 404 page.
    """


class LinkedToAnotherCustomer(EverRealError):
    """The Django user already has an EverReal account, at another customer.

    One Django user stands for one EverReal identity: a login at a second
    customer is a second user, never a second link of the first.
    """


class ReauthenticationRequired(EverRealError):
    """The refresh token is dead: only a new login (or service login) helps.

    The middleware turns it into a redirect to ``LOGIN_URL`` for pages and a
    401 JSON answer for API requests.
    """

    @classmethod
    def for_holder(cls, holder: object) -> ReauthenticationRequired:
        name = getattr(holder, "name", None)
        if name is not None:
            return cls(
                f"The EverReal service account {name!r} must log in again: run "
                f"'manage.py everreal_service_login {name} --username "
                f"{getattr(holder, 'username', '') or 'USER'}'."
            )
        return cls("The EverReal login has expired; the user must log in again.")


class EverRealUnavailable(EverRealError):
    """EverReal cannot answer now (network, timeout, 5xx, 429); try again later.

    Stored tokens are untouched. The middleware answers 503.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EverRealBadResponse(EverRealUnavailable):
    """EverReal answered something this app cannot use (an error, not JSON, HTML)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class EverRealRateLimited(EverRealUnavailable):
    """EverReal's rate limit (300 requests a minute per API) is spent for longer than we wait."""


class GraphQLError(EverRealError):
    """EverReal's GraphQL API answered with ``errors``.

    Unhandled in a view, the middleware answers 502: EverReal refused what
    the site asked for.
    """

    def __init__(self, errors: list[Any]) -> None:
        messages = [e.get("message", "") for e in errors if isinstance(e, dict)]
        super().__init__("; ".join(filter(None, messages)) or "EverReal GraphQL error")
        self.errors = errors


class RefreshTokenRejected(Exception):
    """EverReal refused the refresh token: it is dead, only a new login helps."""


class TokenRefused(Exception):
    """The token endpoint answered with an error (``error`` holds its parts)."""

    def __init__(self, error: TokenError) -> None:
        super().__init__(f"EverReal's token endpoint refused ({error.codes}).")
        self.error = error


class TokenDecryptionError(Exception):
    """A stored token could not be decrypted with any configured key."""


class InvalidEnvelope(ValueError):
    """A webhook delivery that is not EverReal's envelope; the message names the field."""
