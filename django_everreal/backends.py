"""The python-social-auth backend for EverReal's auth server ("heimdall")."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from typing import Literal
from typing import cast

import requests
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import router
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from requests.auth import AuthBase
from social_core.backends.oauth import BaseOAuth2PKCE
from social_core.exceptions import AuthConfigurationError
from social_core.exceptions import AuthPolicyError
from social_core.exceptions import AuthProviderError
from social_core.exceptions import AuthResponseError
from social_core.exceptions import AuthSessionError
from social_core.exceptions import ErrorStage
from social_core.exceptions import SocialAuthBaseException
from social_core.utils import http_error
from social_core.utils import redact_request_error
from social_core.utils import user_agent

from django_everreal import protocol
from django_everreal import sync
from django_everreal import transport
from django_everreal.conf import conf
from django_everreal.customers import get_customer
from django_everreal.exceptions import UnknownCustomer
from django_everreal.models import Account
from django_everreal.models import Customer
from django_everreal.protocol import qualify
from django_everreal.protocol import text
from django_everreal.protocol import validate_userinfo
from django_everreal.transport import Deadline


class EverRealOAuth2(BaseOAuth2PKCE):  # type: ignore[type-arg]
    """Authorization-code flow with PKCE S256 and a single-use ``state``.

    The ``redirect_uri`` is the customer's registered one
    (``SOCIAL_AUTH_EVERREAL_REDIRECT_URI`` for the customer in settings)
    verbatim in both the authorize and the token request: EverReal matches
    it exactly, and building it from the request would trust the ``Host``
    header.

    Several customers: the login start names one with ``?subdomain=``
    (none: the customer in settings); it is stored with the ``state`` in the
    session, and the callback uses that customer's origin and credentials,
    whatever its query says (RFC 9700 §4.4, mix-up attacks).
    """

    name = "everreal"
    title = "EverReal"
    ID_KEY = "id"
    REDIRECT_STATE = False
    STATE_PARAMETER = True
    ACCESS_TOKEN_METHOD = "POST"  # noqa: S105
    SCOPE_SEPARATOR = " "
    #: The deadline of this login's calls to EverReal, set at the first one.
    deadline: Deadline | None = None
    #: The login's customer: chosen at the start, read back from the session
    #: at the callback (``bind_customer``).
    _customer: Customer | None = None
    CUSTOMER_PARAMETER = "subdomain"

    @property
    def ACCESS_TOKEN_PAYLOAD(self) -> str:  # type: ignore[override]
        return conf.TOKEN_REQUEST_FORMAT

    # Django's async auth asks every backend for these; python-social-auth's
    # backends have only the sync ones, so ``request.auser()`` (async
    # ``login_required``, ``scope_required``) and ``aauthenticate`` raised
    # AttributeError for a site listing this backend.
    async def aget_user(self, user_id: Any) -> Any:
        return await sync_to_async(self.get_user)(user_id)

    async def aauthenticate(self, request: Any = None, **credentials: Any) -> Any:
        return await sync_to_async(self.authenticate)(request, **credentials)

    @property
    def customer(self) -> Customer:
        """The customer of this login; the one in settings until another is bound."""
        if self._customer is None:
            self._customer = get_customer()
        return self._customer

    def bind_customer(self, customer: Customer) -> None:
        self._customer = customer

    def get_or_create_state(self) -> str | None:
        """The login's ``state``, with the customer the start named stored beside it.

        ``UnknownCustomer`` (a 404 page) when no enabled customer has that subdomain.
        """
        requested = self.data.get(self.CUSTOMER_PARAMETER)
        self.bind_customer(
            get_customer(requested if isinstance(requested, str) else None)
        )
        state = super().get_or_create_state()
        if state:
            key = self.transaction_key(state)
            transaction = self.strategy.session_get(key)
            if isinstance(transaction, dict):
                self.strategy.session_set(
                    key, {**transaction, "customer": self.customer.key}
                )
        return state

    def validate_state(self) -> str | None:
        """Check the ``state``, and bind the customer the login was started for.

        A ``state`` from before customers were stored is the settings' one.
        """
        state = super().validate_state()
        transaction = self._oauth2_transaction or {}
        key = transaction.get("customer", "")
        try:
            self.bind_customer(get_customer(key if isinstance(key, str) else None))
        except UnknownCustomer:
            # Disabled since the login started: nothing goes to it.
            raise AuthSessionError(
                self, code="unknown_customer", stage="callback"
            ) from None
        return state

    def authorization_url(self) -> str:
        return self.customer.origin + protocol.AUTHORIZE_PATH

    def access_token_url(self) -> str:
        return self.customer.origin + protocol.TOKEN_PATH

    def userinfo_url(self) -> str:
        return self.customer.origin + protocol.USERINFO_PATH

    def get_key_and_secret(self) -> tuple[str, str]:
        return self.customer.client_id, self.customer.client_secret

    def setting(self, name: str, default: Any = None) -> Any:
        if name == "USER_FIELDS":
            # A new user gets EverReal's names at once: no second write of the row.
            names = {field.name for field in get_user_model()._meta.get_fields()}
            default = ["username", "email"] + [
                name for name in ("first_name", "last_name") if name in names
            ]
        return super().setting(name, default)

    def get_scope(self) -> list[str]:
        return conf.SCOPE

    def get_redirect_uri(self, state: str | None = None) -> str:
        redirect_uri = self.customer.login_redirect_uri
        if not redirect_uri:
            raise AuthConfigurationError(
                self,
                "SOCIAL_AUTH_EVERREAL_REDIRECT_URI is not set.",
                code="missing_setting",
                parameter="SOCIAL_AUTH_EVERREAL_REDIRECT_URI",
            )
        return redirect_uri

    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str | bytes] | None = None,
        timeout: float | None = None,
        stage: ErrorStage = "user_info",
        **kwargs: Any,
    ) -> requests.Response:
        """social-core's request, on the process's pooled session and the login's deadline.

        The token exchange and the userinfo call share one
        ``EVERREAL_DEADLINE``, each attempt ``EVERREAL_TIMEOUT`` in all, so an
        answer trickling in cannot hold the worker past its timeout.
        """
        headers = dict(headers or {})
        if self.SEND_USER_AGENT and "User-Agent" not in headers:
            headers["User-Agent"] = self.setting("USER_AGENT") or user_agent()
        if self.deadline is None:
            self.deadline = Deadline.for_operation()
        try:
            response = transport.send(
                method,
                url,
                deadline=self.deadline,
                headers=headers,
                proxies=self.setting("PROXIES"),
                verify=self.setting("VERIFY_SSL", True),
                **kwargs,
            )
            response.raise_for_status()
        except requests.Timeout as error:
            redact_request_error(error, request_url=url)
            raise AuthProviderError(self, code="timeout", stage=stage) from error
        except requests.HTTPError as error:
            redact_request_error(error, request_url=url)
            raise self.http_error(error, stage) from error
        except requests.RequestException as error:
            redact_request_error(error, request_url=url)
            raise AuthProviderError(
                self, code="connection_failed", stage=stage
            ) from error
        return response

    def get_json(
        self,
        url: str,
        method: Literal["GET", "POST", "DELETE"] = "GET",
        headers: Mapping[str, str | bytes] | None = None,
        data: dict[Any, Any] | None = None,
        json: dict[Any, Any] | None = None,
        auth: tuple[str, str] | AuthBase | None = None,
        params: dict[Any, Any] | None = None,
        timeout: float | None = None,
        stage: ErrorStage = "user_info",
    ) -> dict[Any, Any]:
        """The JSON of EverReal's answer; ``malformed_response`` when it is none.

        Unlike social-core's, nesting too deep to parse is refused too.
        """
        response = self.request(
            url,
            method=method,
            headers=headers,
            data=data,
            json=json,
            auth=auth,
            params=params,
            timeout=timeout,
            stage=stage,
        )
        body = protocol.json_answer(response)
        if body is None:
            raise AuthResponseError(self, code="malformed_response", stage=stage)
        # Any JSON, as social-core's: its callers and ours check for an object.
        return cast("dict[Any, Any]", body)

    @sensitive_variables()
    def request_access_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The token exchange's answer, checked where it enters: tokens that are tokens.

        What the rest of the login sees is ``protocol.validate_token_response``'s
        reduced copy; anything unusable is ``InvalidTokenResponse``, the
        login's "EverReal sent an answer this site does not understand".
        """
        stage = kwargs.get("stage", "token_exchange")
        return protocol.validate_token_response(
            super().request_access_token(*args, **kwargs), backend=self, stage=stage
        )

    @sensitive_variables()
    def process_refresh_token_response(
        self, response: requests.Response, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """social-core's own refresh (``UserSocialAuth.refresh_token``) checks as the login does."""
        body = protocol.json_answer(response)
        error = self.get_provider_error(body, stage="refresh")
        if error is not None:
            raise error
        return protocol.validate_token_response(body, backend=self, stage="refresh")

    def http_error(
        self, error: requests.HTTPError, stage: ErrorStage
    ) -> SocialAuthBaseException:
        """social-core's reading of an error answer; by its status alone when its JSON is too deep."""
        try:
            return http_error(self, error, stage=stage)
        except RecursionError:
            status = error.response.status_code
            code = (
                "rate_limited"
                if status == 429
                else "unavailable"
                if status >= 500
                else "http_error"
            )
            return AuthProviderError(self, code=code, stage=stage, status_code=status)

    # Every frame below holds the code, the verifier or the tokens; none may
    # show in an error report.
    @sensitive_variables()
    def auth_complete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().auth_complete(*args, **kwargs)
        finally:
            self.discard_state()

    def discard_state(self) -> None:
        """Forget the callback's ``state``: it is good for one attempt, failed or not."""
        state = self.get_request_state()  # type: ignore[no-untyped-call]
        if not isinstance(state, str) or not state:
            return
        self.strategy.session_pop(self.transaction_key(state))
        index = self.strategy.session_get(self._transaction_index_key())
        if isinstance(index, dict) and state in index:
            rest = {key: value for key, value in index.items() if key != state}
            self.strategy.session_set(self._transaction_index_key(), rest)

    @sensitive_variables("access_token", "headers")
    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json",
        }
        headers.update(protocol.language_cookie())
        payload = self.get_json(self.userinfo_url(), headers=headers)
        return protocol.clean_userinfo(payload, backend=self)

    def pipeline(
        self, pipeline: list[str], pipeline_index: int = 0, *args: Any, **kwargs: Any
    ) -> Any:
        """Run the pipeline in one transaction, one login of an EverReal user at a time.

        The lock on the EverReal id is taken before ``social_user`` looks the
        user up, so a double click or two tabs end as one Django user, logged
        in twice, instead of a ``username_in_use`` error. A failure anywhere
        in the pipeline leaves no half-made user. EverReal is called before,
        outside the transaction.

        A login refused because EverReal reports the account inactive marks
        the stored account inactive at once, so its scopes grant nothing in
        the sessions it already has.
        """
        response = kwargs.get("response")
        try:
            with transaction.atomic(using=router.db_for_write(Account)):
                if isinstance(response, dict) and "id" in response:
                    validate_userinfo(response, backend=self)
                    self.everreal_lock = sync.lock_everreal_user(
                        str(response["id"]).strip(), customer=self.customer.key
                    )
                return super().pipeline(pipeline, pipeline_index, *args, **kwargs)
        except AuthPolicyError:
            if isinstance(response, dict) and response.get("isActive") is False:
                Account.objects.filter(
                    customer=self.customer.key, everreal_id=str(response["id"]).strip()
                ).update(is_active=False)
            raise

    def get_user_id(self, details: dict[str, Any], response: dict[str, Any]) -> str:
        """The social-auth ``uid``: the EverReal id, qualified with a registered customer.

        The same id at two customers is two people.
        """
        return qualify(self.customer.key, str(response["id"]))

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        """EverReal's names, cut to the user model's fields: ``create_user`` gets them as they are."""
        email = text(response.get("email"))
        first_name = text(response.get("firstName"))
        last_name = text(response.get("lastName"))
        return {
            "username": email or f"everreal-{response.get('id')}",
            "email": _fit(get_user_model().get_email_field_name(), email),
            "first_name": _fit("first_name", first_name),
            "last_name": _fit("last_name", last_name),
            "fullname": f"{first_name} {last_name}".strip(),
        }

    def auth_allowed(self, response: dict[str, Any], details: dict[str, Any]) -> bool:
        """EverReal users it reports inactive do not log in."""
        if response.get("isActive") is False:
            return False
        return bool(super().auth_allowed(response, details))

    @sensitive_variables("response", "pipeline_kwargs")
    def extra_data(
        self,
        user: Any,
        uid: str,
        response: dict[str, Any],
        details: dict[str, Any],
        pipeline_kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """Only non-secret facts: the tokens live encrypted on the ``Account``."""
        expires_in = protocol.parse_expires_in(response.get("expires_in"))
        return {
            "auth_time": int(time.time()),
            "expires_at": int(time.time()) + expires_in
            if expires_in is not None
            else None,
            "token_type": response.get("token_type"),
            "scope": protocol.granted_scopes(response),
        }


def _fit(name: str, value: str) -> str:
    """*value* cut to the user model's field *name*, where it has one with a length."""
    try:
        field = get_user_model()._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    max_length = getattr(field, "max_length", None)
    return value[:max_length] if isinstance(max_length, int) else value
