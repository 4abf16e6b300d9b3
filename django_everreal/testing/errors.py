"""The error codes the fake EverReal sends, in one place.

EverReal's auth server ("heimdall") answers a failed request with an OAuth
``error`` and a machine-readable ``error_description`` such as
``heimdall.validation.user.does.not.exist``. Code that turns these into
messages for people, and tests that assert on them, import them from here.
"""

from __future__ import annotations

# ruff: noqa: S105 -- error codes that mention passwords and tokens, not secrets

# Token endpoint: the user behind a password grant.
USER_DOES_NOT_EXIST = "heimdall.validation.user.does.not.exist"
PASSWORD_INVALID = "heimdall.validation.password.invalid"
USER_INACTIVE = "heimdall.validation.user.is.inactive"

# Token endpoint: authorization codes and PKCE.
CODE_INVALID = "heimdall.validation.code.invalid"
CODE_EXPIRED = "heimdall.validation.code.expired"
CODE_ALREADY_USED = "heimdall.validation.code.already.used"
CODE_CLIENT_MISMATCH = "heimdall.validation.code.client.mismatch"
REDIRECT_URI_MISMATCH = "heimdall.validation.redirect.uri.mismatch"
CODE_VERIFIER_MISSING = "heimdall.validation.code.verifier.missing"
CODE_VERIFIER_INVALID = "heimdall.validation.code.verifier.invalid"
CODE_VERIFIER_UNEXPECTED = "heimdall.validation.code.verifier.unexpected"

# Token endpoint: refresh tokens.
REFRESH_TOKEN_INVALID = "heimdall.validation.refresh.token.invalid"
REFRESH_TOKEN_REVOKED = "heimdall.validation.refresh.token.revoked"
REFRESH_TOKEN_EXPIRED = "heimdall.validation.refresh.token.expired"
REFRESH_TOKEN_CLIENT_MISMATCH = "heimdall.validation.refresh.token.client.mismatch"

# Token endpoint: the client and the request itself.
CLIENT_CREDENTIALS_MISSING = "heimdall.validation.client.credentials.missing"
CLIENT_INVALID = "heimdall.validation.client.invalid"
PARAMETER_MISSING = "heimdall.validation.parameter.missing"
BODY_INVALID = "heimdall.validation.body.invalid"
GRANT_TYPE_UNSUPPORTED = "heimdall.validation.grant.type.unsupported"
SCOPE_INVALID = "heimdall.validation.scope.invalid"

# Authorize endpoint: sent back to the client's redirect URI.
ACCESS_DENIED = "heimdall.validation.user.denied.access"
RESPONSE_TYPE_UNSUPPORTED = "heimdall.validation.response.type.unsupported"
CODE_CHALLENGE_METHOD_UNSUPPORTED = (
    "heimdall.validation.code.challenge.method.unsupported"
)

# API endpoints (userinfo, GraphQL): the bearer token.
ACCESS_TOKEN_MISSING = "heimdall.validation.access.token.missing"
ACCESS_TOKEN_INVALID = "heimdall.validation.access.token.invalid"
ACCESS_TOKEN_EXPIRED = "heimdall.validation.access.token.expired"
ACCESS_TOKEN_REVOKED = "heimdall.validation.access.token.revoked"
RATE_LIMIT_EXCEEDED = "heimdall.validation.rate.limit.exceeded"

ALL = (
    USER_DOES_NOT_EXIST,
    PASSWORD_INVALID,
    USER_INACTIVE,
    CODE_INVALID,
    CODE_EXPIRED,
    CODE_ALREADY_USED,
    CODE_CLIENT_MISMATCH,
    REDIRECT_URI_MISMATCH,
    CODE_VERIFIER_MISSING,
    CODE_VERIFIER_INVALID,
    CODE_VERIFIER_UNEXPECTED,
    REFRESH_TOKEN_INVALID,
    REFRESH_TOKEN_REVOKED,
    REFRESH_TOKEN_EXPIRED,
    REFRESH_TOKEN_CLIENT_MISMATCH,
    CLIENT_CREDENTIALS_MISSING,
    CLIENT_INVALID,
    PARAMETER_MISSING,
    BODY_INVALID,
    GRANT_TYPE_UNSUPPORTED,
    SCOPE_INVALID,
    ACCESS_DENIED,
    RESPONSE_TYPE_UNSUPPORTED,
    CODE_CHALLENGE_METHOD_UNSUPPORTED,
    ACCESS_TOKEN_MISSING,
    ACCESS_TOKEN_INVALID,
    ACCESS_TOKEN_EXPIRED,
    ACCESS_TOKEN_REVOKED,
    RATE_LIMIT_EXCEEDED,
)


class OAuthError(Exception):
    """A request the fake refuses: rendered as ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class FakeEverRealError(Exception):
    """A test helper of the fake could not do what it was asked."""
