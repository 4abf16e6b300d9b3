"""EverReal's wire format: the small rules every caller of EverReal shares."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

import jwt
from django.utils import translation
from django.views.decorators.debug import sensitive_variables
from social_core.exceptions import ErrorStage

from django_everreal import transport
from django_everreal.conf import conf
from django_everreal.exceptions import InvalidTokenResponse
from django_everreal.exceptions import InvalidUserInfo
from django_everreal.exceptions import TokenRefused as TokenRefused

if TYPE_CHECKING:
    from django_everreal.models import Customer

# EverReal's endpoints, on each customer's origin.
AUTHORIZE_PATH = "/accounts/dialog/authorize"
TOKEN_PATH = "/accounts/oauth/token"  # noqa: S105
USERINFO_PATH = "/accounts/api/userinfo"
GRAPHQL_PATH = "/api/reporting/graphql"
WEBHOOKS_PATH = "/api/external-integrations/webhooks"

#: The longest lifetime believed of a token, whatever EverReal says: beyond
#: it the expiry date would overflow Python's datetime (year 9999).
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
#: Longer than any JWT EverReal issues, short enough for an HTTP header.
MAX_TOKEN_LENGTH = 16 * 1024
#: A token is visible ASCII: JWT, base64url and opaque tokens alike. Anything
#: else could not go into an ``Authorization`` header (``http.client`` encodes
#: headers as Latin-1) nor be told apart from a token of another kind.
TOKEN_PATTERN = _TOKEN = re.compile(r"[\x21-\x7e]+")
_WORD = re.compile(r"[\x21-\x7e]{1,64}")
#: The fields of a token response: never taken from a userinfo answer, never
#: passed on as one.
TOKEN_FIELDS = frozenset(
    {"access_token", "refresh_token", "expires_in", "token_type", "scope", "id_token"}
)
#: Userinfo is a few levels deep; anything deeper is cut, not recursed into.
MAX_DEPTH = 16

# EverReal reads full locales; Django's bare language codes get their usual region.
DEFAULT_REGIONS = {
    "de": "de-DE",
    "en": "en-US",
    "fr": "fr-FR",
    "it": "it-IT",
    "es": "es-ES",
}


def everreal_language(language: str | None = None) -> str:
    """The active Django language as EverReal's locale, e.g. ``de`` -> ``de-DE``."""
    code = (language or translation.get_language() or "en").replace("_", "-")
    base, _, region = code.partition("-")
    if region:
        return f"{base.lower()}-{region.upper()}"
    return DEFAULT_REGIONS.get(base.lower(), base.lower())


def language_cookie(language: str | None = None) -> dict[str, str]:
    """EverReal takes the language from a cookie, as its docs send it."""
    return {"Cookie": f"accept-language={everreal_language(language)}"}


def clamp_seconds(seconds: float) -> int:
    """A lifetime in 0..``MAX_EXPIRES_IN``: a date far in the future must not overflow."""
    if seconds >= MAX_EXPIRES_IN:
        return MAX_EXPIRES_IN
    return max(int(seconds), 0)


def strict_expires_in(value: Any) -> int | None:
    """``expires_in`` as seconds, clamped; ``None`` when absent; ``ValueError`` when not a number.

    EverReal sends a number or a numeric string (``"3600"``).
    """
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= 64:
        value = float(value.strip())  # ValueError for anything but a number
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("'expires_in' is not a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("'expires_in' is not a finite number.")
    return clamp_seconds(value)


def parse_expires_in(value: Any) -> int | None:
    """``expires_in`` as seconds, clamped; ``None`` when absent or not a number."""
    try:
        return strict_expires_in(value)
    except ValueError:
        return None


def token_request_kwargs(payload: dict[str, str], body_format: str) -> dict[str, Any]:
    """``requests`` keyword arguments sending *payload* as JSON or as a form."""
    if body_format == "form":
        return {"data": payload, "headers": {"Accept": "application/json"}}
    return {"json": payload, "headers": {"Accept": "application/json"}}


@dataclass(frozen=True)
class TokenError:
    """EverReal's refusal at the token endpoint, in parts that are safe to log.

    EverReal answers e.g. HTTP 403 ``{"error": "invalid_grant",
    "error_description": "heimdall.validation.user.does.not.exist"}``, 400
    ``invalid_request``, 401 ``invalid_client`` or a bare 401, 429, 5xx.
    """

    status: int
    error: str = ""
    description: str = ""
    retry_after: float | None = None

    @classmethod
    def from_response(cls, response: Any) -> TokenError:
        body = json_answer(response)
        body = body if isinstance(body, dict) else {}
        error = body.get("error")
        description = body.get("error_description")
        return cls(
            status=response.status_code,
            error=error if isinstance(error, str) and is_code(error) else "",
            description=description.strip()
            if isinstance(description, str)
            and len(description) <= 200
            and clean_text(description) is not None
            else "",
            retry_after=retry_after(response),
        )

    @property
    def grant_rejected(self) -> bool:
        """The grant itself is dead (``invalid_grant``, any 401): retrying cannot help."""
        return self.status == 401 or self.error == "invalid_grant"

    @property
    def codes(self) -> str:
        """``HTTP 403, invalid_grant, heimdall.validation...``, for logs and messages."""
        return ", ".join(
            filter(None, [f"HTTP {self.status}", self.error, self.description])
        )


@sensitive_variables()
def request_tokens(
    customer: Customer, grant: dict[str, str], deadline: transport.Deadline
) -> dict[str, Any]:
    """One grant at *customer*'s token endpoint, with its client credentials.

    Returns ``validate_token_response``'s tokens. Raises
    ``requests.RequestException`` when EverReal is out of reach,
    ``TokenRefused`` for an error answer and ``InvalidTokenResponse`` for a
    200 without usable tokens. Never retried: a repeated password grant
    costs one of the user's 50 refresh tokens.
    """
    payload = {
        **grant,
        "client_id": customer.client_id,
        "client_secret": customer.client_secret,
    }
    response = transport.send(
        "POST",
        customer.origin + TOKEN_PATH,
        deadline=deadline,
        **token_request_kwargs(payload, conf.TOKEN_REQUEST_FORMAT),
    )
    body = json_answer(response)
    if response.status_code != 200 or (
        isinstance(body, dict) and body.get("error") is not None
    ):
        raise TokenRefused(TokenError.from_response(response))
    return validate_token_response(body, stage="refresh")


def unverified_claims(token: str) -> dict[str, Any] | None:
    """A JWT's claims, unverified; ``None`` when it is no JWT.

    EverReal publishes no keys, so only facts about the token itself are
    read (``exp``, ``sub``); a token is never trusted for anything else.
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, RecursionError):
        return None
    return claims


def token_subject(token: str) -> str:
    """The EverReal user id in a token's ``sub``; ``""`` when it has none fit to store."""
    sub = (unverified_claims(token) or {}).get("sub")
    if isinstance(sub, bool) or not isinstance(sub, (str, int)):
        return ""
    sub = str(sub).strip()
    return sub if len(sub) <= 64 and clean_text(sub) is not None else ""


def seconds_until_expiry(token: str) -> int | None:
    """The lifetime left in a JWT's ``exp``, for responses without ``expires_in``."""
    claims = unverified_claims(token)
    if claims is None:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    if isinstance(exp, float) and not math.isfinite(exp):
        return None
    now = time.time()
    # Compared before subtracting: an int too large for a float cannot overflow.
    if exp >= now + MAX_EXPIRES_IN:
        return MAX_EXPIRES_IN
    return clamp_seconds(exp - now)


def is_code(value: str) -> bool:
    """A short word of visible ASCII, e.g. ``Bearer`` or ``invalid_grant``: safe to log."""
    return _WORD.fullmatch(value) is not None


def json_answer(response: Any) -> Any:
    """The parsed JSON of an answer of EverReal's; ``None`` when it is not JSON.

    Nesting too deep for the parser counts as not JSON, not as a crash.
    """
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


def validate_token_response(
    body: object, backend: Any = None, stage: ErrorStage = "token_exchange"
) -> dict[str, Any]:
    """EverReal's token response, checked and reduced to what this app uses.

    ``access_token`` must be a token (visible ASCII, at most
    ``MAX_TOKEN_LENGTH``); ``refresh_token`` a token or absent/null (a
    refresh may not carry one); ``expires_in`` a number or a numeric string,
    clamped to 0..``MAX_EXPIRES_IN``, or absent/null; ``token_type`` a short
    word or absent/null; ``error`` absent. Anything else raises ``InvalidTokenResponse``, whose
    message names the field, never its value: it may be a token.
    """
    if not isinstance(body, dict):
        raise InvalidTokenResponse(
            backend, "EverReal's token response is not a JSON object.", stage=stage
        )

    def refuse(reason: str) -> InvalidTokenResponse:
        return InvalidTokenResponse(
            backend, f"EverReal's token response {reason}", stage=stage
        )

    if body.get("error") is not None:
        raise refuse("is an error response.")
    tokens: dict[str, Any] = {}
    for name in ("access_token", "refresh_token"):
        value = body.get(name)
        if value is None and name == "refresh_token":
            tokens[name] = None
        elif not isinstance(value, str) or not value:
            raise refuse(f"has no usable '{name}'.")
        elif len(value) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(value):
            raise refuse(f"has a '{name}' that is not a token.")
        else:
            tokens[name] = value
    try:
        tokens["expires_in"] = strict_expires_in(body.get("expires_in"))
    except ValueError:
        raise refuse("has an 'expires_in' that is not a number.") from None
    token_type = body.get("token_type")
    if token_type is not None and not (
        isinstance(token_type, str) and is_code(token_type)
    ):
        raise refuse("has an invalid 'token_type'.")
    tokens["token_type"] = token_type
    return tokens


def retry_after(response: Any) -> float | None:
    """Seconds EverReal asks to wait: ``Retry-After`` or ``X-RateLimit-Reset``."""
    for header in ("Retry-After", "X-RateLimit-Reset"):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def clean_text(value: str) -> str | None:
    """*value*, or ``None`` when it holds a control character or a lone surrogate.

    No database takes a NUL (PostgreSQL refuses it), a lone surrogate cannot
    be encoded at all, and a name or id with a control character in it is
    not one: the field counts as absent, as EverReal's fields may be.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return None
    return value


def _clean(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN, Infinity: not JSON
    if depth >= MAX_DEPTH:
        return None if isinstance(value, (dict, list)) else value
    if isinstance(value, dict):
        return {
            key: _clean(item, depth + 1)
            for key, item in value.items()
            if isinstance(key, str) and clean_text(key) is not None
        }
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    return value


def clean_json(value: Any) -> Any:
    """*value* safe to store: strings no database takes are null, deep nesting cut.

    As ``clean_userinfo`` does it, for any JSON EverReal sends (webhooks).
    """
    return _clean(value, 0)


def clean_userinfo(payload: object, backend: Any = None) -> dict[str, Any]:
    """EverReal's userinfo, safe to store: every string that no database takes is null.

    Strings with control characters (NUL among them) or lone surrogates,
    and numbers JSON does not know (NaN, Infinity), become ``None``, at
    every depth, as if EverReal had left the field out; nesting deeper than
    ``MAX_DEPTH`` is cut. The token fields are dropped: userinfo is merged
    into the token response at login and must not pose as one. A payload
    without a usable ``id`` raises ``InvalidUserInfo``.
    """
    cleaned = _clean(payload, 0)
    validate_userinfo(cleaned, backend)
    return without_tokens(cleaned)


def without_tokens(payload: dict[str, Any]) -> dict[str, Any]:
    """*payload* without the fields of a token response."""
    return {key: value for key, value in payload.items() if key not in TOKEN_FIELDS}


#: The ``customer`` of what belongs to the customer configured in settings.
SETTINGS_CUSTOMER = ""


def qualify(customer: str, everreal_id: str) -> str:
    """*everreal_id* as a key that no other customer's id can take: ``acme:<id>``.

    EverReal's ids are unique within one customer's EverReal only. The
    customer configured in settings keeps the bare ids, as before there were
    several; EverReal's ids never hold a colon (``validate_userinfo`` and
    ``UserInfo.parse`` refuse them).
    """
    return f"{customer}:{everreal_id}" if customer else everreal_id


def unqualify(customer: str, key: str) -> str:
    return key.removeprefix(f"{customer}:") if customer else key


def split_key(key: str) -> tuple[str, str]:
    """``(customer, EverReal id)`` of a qualified key, e.g. a social-auth ``uid``."""
    customer, colon, everreal_id = key.partition(":")
    return (customer, everreal_id) if colon else (SETTINGS_CUSTOMER, key)


ID_MAX_LENGTH = 64
NAME_MAX_LENGTH = 255


class PartnerData(NamedTuple):
    """The partner EverReal names for the current company; ``id`` qualified."""

    id: str
    name: str
    subdomain: str


class CompanyData(NamedTuple):
    name: str
    is_default: bool
    #: The partner's id for the current company (the only one EverReal names a
    #: partner for); ``None`` leaves a stored company's partner as it is.
    partner_id: str | None = None


@dataclass(frozen=True)
class UserInfo:
    """EverReal's userinfo, normalised: every field may be absent or null there."""

    customer: str
    everreal_id: str
    email: str
    first_name: str
    last_name: str
    is_tenant: bool
    is_active: bool
    language: str
    profile_photo: str
    scopes: list[str]
    current_id: str | None
    partner: PartnerData | None
    #: The companies to be a member of, by id, the current company among them.
    companies: dict[str, CompanyData]

    @classmethod
    def parse(cls, payload: Any, customer: str = SETTINGS_CUSTOMER) -> UserInfo:
        """The userinfo of one of *customer*'s users; company and partner ids come qualified.

        ``qualify``: a company id at a registered customer is
        ``<subdomain>:<id>``, so no customer's answer can name another's rows.
        """
        validate_userinfo(payload)
        current = _object(payload.get("currentCompany"))
        current_id = _key(customer, current.get("id"))
        partner_data = _object(current.get("partner"))
        partner_id = _key(customer, partner_data.get("id"))
        partner = (
            PartnerData(
                id=partner_id,
                name=text(partner_data.get("name"))[:NAME_MAX_LENGTH],
                subdomain=text(partner_data.get("subdomain"))[:63],
            )
            if partner_id
            else None
        )
        companies: dict[str, CompanyData] = {}
        # A user may be in hundreds of companies: this loop is the hot path.
        for entry in _objects(payload.get("companies")):
            company_id = _key(customer, entry.get("id"))
            if company_id:
                name = entry.get("name")
                companies[company_id] = CompanyData(
                    name.strip()[:NAME_MAX_LENGTH] if type(name) is str else "",
                    entry.get("isDefault") is True,
                )
        if current_id:
            listed = companies.get(current_id)
            companies[current_id] = CompanyData(
                name=(text(current.get("name")) or (listed.name if listed else ""))[
                    :NAME_MAX_LENGTH
                ],
                is_default=listed.is_default if listed else False,
                partner_id=partner_id,
            )
        return cls(
            customer=customer,
            everreal_id=str(payload["id"]).strip(),
            email=text(payload.get("email"))[:254],
            first_name=text(payload.get("firstName")),
            last_name=text(payload.get("lastName")),
            is_tenant=payload.get("isTenant") is True,
            is_active=payload.get("isActive") is not False,
            language=text(_object(payload.get("profileData")).get("language"))[:35],
            profile_photo=_url(payload.get("profilePhoto")),
            scopes=granted_scopes(payload),
            current_id=current_id,
            partner=partner,
            companies=dict(sorted(companies.items())),
        )

    @property
    def digest(self) -> str:
        """Changes whenever anything this app stores from the userinfo changes."""
        partner = self.partner
        facts = [
            self.customer,
            self.everreal_id,
            self.email,
            self.is_tenant,
            self.is_active,
            self.language,
            self.profile_photo,
            self.scopes,
            self.current_id,
            [partner.id, partner.name, partner.subdomain] if partner else None,
            list(self.companies.items()),
        ]
        return hashlib.sha256(
            json.dumps(facts, separators=(",", ":")).encode()
        ).hexdigest()


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return (
        [item for item in value if isinstance(item, dict)]
        if isinstance(value, list)
        else []
    )


def _key(customer: str, value: Any) -> str | None:
    """An id of EverReal's as the key of this app's row (``qualify``)."""
    everreal_id = _id(value)
    return qualify(customer, everreal_id) if everreal_id else None


def _id(value: Any) -> str | None:
    if type(value) is not str:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        value = str(value)
    value = value.strip()
    # A colon would pose as another customer's qualified id (``qualify``).
    return value if value and len(value) <= ID_MAX_LENGTH and ":" not in value else None


def _url(value: Any) -> str:
    value = text(value)
    return (
        value
        if value.startswith(("https://", "http://")) and len(value) <= 2000
        else ""
    )


def granted_scopes(payload: dict[str, Any]) -> list[str]:
    """``tokenInfo.scope`` of a userinfo: a list (or a space-separated string), sorted."""
    scope = _object(payload.get("tokenInfo")).get("scope")
    if isinstance(scope, str):
        scope = scope.split()
    if not isinstance(scope, list):
        return []
    return sorted({s for s in scope if isinstance(s, str) and s})


def validate_userinfo(payload: object, backend: Any = None) -> None:
    """Refuse anything but an object with an ``id``, before it reaches the pipeline."""
    everreal_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(everreal_id, bool) or not isinstance(everreal_id, (str, int)):
        raise InvalidUserInfo(
            backend,
            "EverReal's userinfo response is not an object with an 'id'.",
            stage="user_info",
        )
    if (
        not str(everreal_id).strip()
        or len(str(everreal_id)) > 64
        or ":" in str(everreal_id)
    ):
        # EverReal's ids are UUIDs; a colon would pose as another customer's
        # qualified id (``qualify``).
        raise InvalidUserInfo(
            backend,
            "EverReal's userinfo response has an invalid 'id'.",
            stage="user_info",
        )


def webhook_records(body: list[Any]) -> list[dict[str, str]]:
    """EverReal's webhook registrations, live ones only, as ``id``, ``type``,
    ``url`` and ``companyId`` strings.

    Records with ``deletedAt`` set are deleted (soft deletion); records
    without an id, a type or a URL are skipped. Ids are not checked as
    UUIDs: EverReal's own samples are not.
    """
    records = []
    for item in body:
        if not isinstance(item, dict) or item.get("deletedAt"):
            continue
        record = {
            name: text(item.get(name)) for name in ("id", "type", "url", "companyId")
        }
        if (
            record["id"]
            and record["type"]
            and record["url"]
            and len(record["id"]) <= 64
        ):
            records.append(record)
    return records


def webhook_id_from_location(value: str | None) -> str:
    """The id of a new registration: EverReal's ``Location`` is a bare id (or a URL ending in one)."""
    last = text(value).rstrip("/").rsplit("/", 1)[-1]
    return last if 0 < len(last) <= 64 and is_code(last) else ""
