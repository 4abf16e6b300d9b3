"""The python-social-auth pipeline step that keeps EverReal's data in Django models."""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables
from social_core.exceptions import AuthAssociationError

from django_everreal import protocol
from django_everreal import sync
from django_everreal.backends import EverRealOAuth2
from django_everreal.exceptions import LinkedToAnotherCustomer

#: The login's error code when its Django user belongs to another customer.
LINKED_TO_ANOTHER_CUSTOMER = "linked_to_another_customer"


@sensitive_variables("response", "args", "kwargs", "userinfo")
def sync_account(
    backend: Any, user: Any = None, response: Any = None, *args: Any, **kwargs: Any
) -> dict[str, Any] | None:
    """Upsert Partner, Company, Membership and Account, and store the tokens encrypted.

    Put it after ``social_core.pipeline.user.user_details``. Other backends
    pass through untouched.
    """
    if not isinstance(backend, EverRealOAuth2) or user is None:
        return None
    # social-core merges the token response into the userinfo; receivers of
    # ``account_synced`` get the userinfo alone, never a token.
    userinfo = protocol.without_tokens(response)
    try:
        account = sync.sync_account(
            user,
            userinfo,
            tokens=response,
            lock=getattr(backend, "everreal_lock", None),
            new_user=kwargs.get("is_new") is True,
            customer=backend.customer.key,
        )
    except LinkedToAnotherCustomer as exc:
        raise AuthAssociationError(
            backend, str(exc), code=LINKED_TO_ANOTHER_CUSTOMER, stage="pipeline"
        ) from None
    return {"everreal_account": account}
