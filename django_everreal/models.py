from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_everreal import crypto
from django_everreal import protocol
from django_everreal.conf import conf


class Partner(models.Model):
    """An EverReal customer, with its own subdomain."""

    id = models.CharField(_("EverReal id"), max_length=64, primary_key=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    subdomain = models.CharField(_("subdomain"), max_length=63, blank=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.id


class Company(models.Model):
    id = models.CharField(_("EverReal id"), max_length=64, primary_key=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    partner = models.ForeignKey(
        Partner,
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="companies",
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.id


#: What a token response changes: saved together, e.g. ``save(update_fields=...)``.
TOKEN_FIELD_NAMES = [
    "encrypted_access_token",
    "encrypted_refresh_token",
    "access_token_expires_at",
    "tokens_refreshed_at",
    "refresh_failed_at",
    "reauth_required",
]


class TokenFields(models.Model):
    """Encrypted OAuth tokens and their expiry.

    The ciphertext fields are never shown; read the tokens through
    ``access_token`` and ``refresh_token``, which decrypt on use.
    """

    encrypted_access_token = models.TextField(editable=False, blank=True, default="")
    encrypted_refresh_token = models.TextField(editable=False, blank=True, default="")
    access_token_expires_at = models.DateTimeField(
        _("access token valid until"), null=True, blank=True, editable=False
    )
    tokens_refreshed_at = models.DateTimeField(
        _("tokens last refreshed"), null=True, blank=True, editable=False
    )
    #: When a refresh last failed for a passing reason: for
    #: ``EVERREAL_REFRESH_COOLDOWN`` after it, callers fail fast instead of
    #: each trying again.
    refresh_failed_at = models.DateTimeField(
        _("refresh last failed"), null=True, blank=True, editable=False
    )
    reauth_required = models.BooleanField(_("re-login needed"), default=False)

    class Meta:
        abstract = True

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.encrypted_access_token)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.encrypted_refresh_token)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.encrypted_refresh_token)

    def set_tokens(
        self, access_token: str, refresh_token: str | None, expires_in: int | None
    ) -> None:
        """Store a token response; keep the old refresh token when none came back.

        The lifetime is clamped to ``protocol.MAX_EXPIRES_IN``: a date past
        the year 9999 cannot be stored.
        """
        now = timezone.now()
        self.encrypted_access_token = crypto.encrypt(access_token)
        if refresh_token:
            self.encrypted_refresh_token = crypto.encrypt(refresh_token)
        if expires_in is None:
            expires_in = protocol.seconds_until_expiry(access_token)
        if expires_in is not None:
            expires_in = protocol.clamp_seconds(expires_in)
        self.access_token_expires_at = (
            now + timedelta(seconds=expires_in) if expires_in is not None else None
        )
        self.tokens_refreshed_at = now
        self.refresh_failed_at = None
        self.reauth_required = False

    def refresh_cooling_down(self, now: datetime | None = None) -> float:
        """Seconds left of the pause after a failed refresh; 0 when there is none."""
        if self.refresh_failed_at is None:
            return 0.0
        until = self.refresh_failed_at + timedelta(seconds=conf.REFRESH_COOLDOWN)
        return max(0.0, (until - (now or timezone.now())).total_seconds())

    def access_token_expired(self, now: datetime | None = None) -> bool:
        """True when there is no access token or its lifetime is over."""
        if not self.encrypted_access_token or self.access_token_expires_at is None:
            return True
        return self.access_token_expires_at <= (now or timezone.now())

    def access_token_due(self, now: datetime | None = None) -> bool:
        """True when the access token is missing or expires within the leeway."""
        if not self.encrypted_access_token or self.access_token_expires_at is None:
            return True
        now = now or timezone.now()
        return self.access_token_expires_at <= now + timedelta(
            seconds=conf.REFRESH_LEEWAY
        )


class Account(TokenFields):
    """The EverReal side of a linked Django user, as of the last sync."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="everreal_account",
    )
    everreal_id = models.CharField(_("EverReal id"), max_length=64, unique=True)
    email = models.EmailField(_("email"), blank=True)
    current_company = models.ForeignKey(
        Company,
        verbose_name=_("current company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    companies = models.ManyToManyField(
        Company,
        verbose_name=_("companies"),
        through="Membership",
        related_name="accounts",
        blank=True,
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    is_tenant = models.BooleanField(_("tenant"), default=False)
    is_active = models.BooleanField(_("active in EverReal"), default=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    profile_photo = models.URLField(_("profile photo"), max_length=2000, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    #: SHA-256 of the userinfo last applied: an unchanged re-login writes no row
    #: but the account's.
    userinfo_digest = models.CharField(
        _("userinfo digest"), max_length=64, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("EverReal account")
        verbose_name_plural = _("EverReal accounts")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email or self.everreal_id

    def __repr__(self) -> str:
        return f"<Account {self.pk}: {self.everreal_id}>"

    @property
    def permission_scopes(self) -> frozenset[str]:
        """Scopes that stand for permissions: not ``offline_access`` nor ``*``."""
        return frozenset(s for s in self.scopes or () if isinstance(s, str)) - {
            "offline_access",
            "*",
        }


class Membership(models.Model):
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    is_default = models.BooleanField(_("default company"), default=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "company"], name="everreal_membership_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.company}"


class SyncLock(models.Model):
    """One row per EverReal user, row-locked while a login or re-sync of that user runs.

    It exists before the user's ``Account`` does, so two first logins of one
    EverReal user (two tabs, a double click) wait for each other instead of
    both creating a Django user; a row lock works on every database.
    """

    everreal_id = models.CharField(_("EverReal id"), max_length=64, primary_key=True)
    locked_at = models.DateTimeField(_("last locked"))

    class Meta:
        verbose_name = _("sync lock")
        verbose_name_plural = _("sync locks")

    def __str__(self) -> str:
        return self.everreal_id


class ServiceAccount(TokenFields):
    """An EverReal user that tasks and commands act as, without a browser.

    Its refresh token comes from one password grant
    (``manage.py everreal_service_login NAME --username U``); the password
    itself is never stored.
    """

    name = models.SlugField(_("name"), max_length=100, unique=True)
    username = models.CharField(_("EverReal user"), max_length=254)
    everreal_id = models.CharField(_("EverReal id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("service account")
        verbose_name_plural = _("service accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ServiceAccount {self.name}>"
