"""What the app does when other apps' rows change."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver
from social_django.models import UserSocialAuth

from django_everreal.backends import EverRealOAuth2
from django_everreal.models import Account
from django_everreal.protocol import split_key


@receiver(post_delete, sender=UserSocialAuth, dispatch_uid="everreal_unlinked")
def forget_unlinked_account(
    sender: type[UserSocialAuth], instance: UserSocialAuth, **kwargs: Any
) -> None:
    """Unlinking EverReal (disconnect, or the link deleted in the admin) removes the account.

    With it go its tokens, its memberships and so its scopes as permissions:
    ``request.everreal`` is ``None`` from then on. Partners and companies stay,
    other accounts may share them; the Django user stays.
    """
    if instance.provider == EverRealOAuth2.name:
        customer, everreal_id = split_key(instance.uid)
        Account.objects.filter(
            user_id=instance.user_id, customer=customer, everreal_id=everreal_id
        ).delete()
