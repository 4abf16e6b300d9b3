from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_everreal import crypto
from django_everreal import protocol
from django_everreal.conf import SUBDOMAIN_RE
from django_everreal.conf import conf
from django_everreal.conf import validate_base_url
from django_everreal.protocol import SETTINGS_CUSTOMER as SETTINGS_CUSTOMER
from django_everreal.protocol import qualify
from django_everreal.protocol import unqualify

#: An EverReal id, qualified with its customer's subdomain: ``acme:<id>``.
KEY_MAX_LENGTH = 128


def customer_field() -> models.CharField[str, str]:
    return models.CharField(
        _("EverReal customer"),
        max_length=63,
        blank=True,
        default=SETTINGS_CUSTOMER,
        editable=False,
        db_index=True,
        help_text=_(
            "The subdomain of the registered customer; empty for the one in settings."
        ),
    )


class Customer(models.Model):
    """An EverReal customer this site is registered with, besides the one in settings.

    Its own subdomain (or origin), and the client id and secret EverReal
    issued to this site for it; the secret is stored encrypted as the tokens
    are. Every account, company and partner belongs to one customer.
    """

    subdomain = models.CharField(
        _("subdomain"),
        max_length=63,
        unique=True,
        help_text=_(
            "The customer's EverReal subdomain: acme for https://acme.everreal.co."
            " It names the customer in login URLs (?subdomain=acme)."
        ),
    )
    name = models.CharField(_("name"), max_length=255, blank=True)
    base_url = models.CharField(
        _("origin override"),
        max_length=200,
        blank=True,
        help_text=_(
            "Only for staging or the fake EverReal: an origin such as"
            " http://127.0.0.1:8002 that replaces https://<subdomain>.everreal.co."
        ),
    )
    client_id = models.CharField(_("client id"), max_length=255)
    encrypted_client_secret = models.TextField(editable=False, blank=True, default="")
    redirect_uri = models.URLField(
        _("redirect URI"),
        max_length=2000,
        blank=True,
        help_text=_(
            "The callback URL registered with this customer, used verbatim;"
            " empty: SOCIAL_AUTH_EVERREAL_REDIRECT_URI."
        ),
    )
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_(
            "A disabled customer's users cannot log in, its tokens are not"
            " refreshed and its scopes grant nothing; its data stays."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    #: The customer configured in settings, not a row (``Customer.from_settings``).
    is_from_settings = False
    _settings_secret = ""

    class Meta:
        verbose_name = _("EverReal customer")
        verbose_name_plural = _("EverReal customers")
        ordering = ["subdomain"]

    def __str__(self) -> str:
        if self.is_from_settings:
            return str(_("EverReal customer from settings"))
        return self.name or self.subdomain

    def __repr__(self) -> str:
        return f"<Customer {self.key or '(settings)'}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # DNS names ignore case, and logins look the subdomain up in lower case.
        self.subdomain = self.subdomain.strip().lower()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.subdomain = self.subdomain.strip().lower()
        if not SUBDOMAIN_RE.match(self.subdomain):
            raise ValidationError(
                {"subdomain": _("One DNS label, such as acme for acme.everreal.co.")}
            )
        if self.base_url:
            try:
                self.base_url = validate_base_url(self.base_url)
            except ImproperlyConfigured:
                raise ValidationError(
                    {
                        "base_url": _(
                            "An origin such as https://staging.example.com, without a path."
                        )
                    }
                ) from None

    @classmethod
    def from_settings(cls) -> Customer:
        """The customer of ``SOCIAL_AUTH_EVERREAL_*``, as an unsaved instance."""
        customer = cls(
            subdomain=conf.SUBDOMAIN,
            base_url=conf.BASE_URL,
            client_id=conf.KEY,
            redirect_uri=conf.REDIRECT_URI,
        )
        customer.is_from_settings = True
        customer._settings_secret = conf.SECRET
        return customer

    @property
    def key(self) -> str:
        """What the customer's rows carry as ``customer``: its subdomain, or ``""``."""
        return SETTINGS_CUSTOMER if self.is_from_settings else self.subdomain

    @property
    def origin(self) -> str:
        """EverReal's origin for this customer, e.g. ``https://acme.everreal.co``."""
        if self.is_from_settings:
            return conf.origin
        if self.base_url:
            return validate_base_url(self.base_url, setting=f"{self!r}.base_url")
        if not SUBDOMAIN_RE.match(self.subdomain):
            raise ImproperlyConfigured(f"{self!r} has no valid subdomain.")
        return f"https://{self.subdomain.lower()}.everreal.co"

    @property
    def client_secret(self) -> str:
        if self.is_from_settings:
            return self._settings_secret
        return crypto.decrypt(self.encrypted_client_secret)

    def set_client_secret(self, secret: str) -> None:
        self.encrypted_client_secret = crypto.encrypt(secret)

    @property
    def login_redirect_uri(self) -> str:
        """The callback URL to send EverReal: the customer's own, else the setting."""
        return self.redirect_uri or conf.REDIRECT_URI


class Partner(models.Model):
    """EverReal's partner of a customer, as its userinfo names it.

    Its key is the EverReal id, qualified with the customer's subdomain for
    registered customers (``protocol.qualify``).
    """

    id = models.CharField(_("key"), max_length=KEY_MAX_LENGTH, primary_key=True)
    customer = customer_field()
    name = models.CharField(_("name"), max_length=255, blank=True)
    subdomain = models.CharField(_("subdomain"), max_length=63, blank=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.id

    @property
    def everreal_id(self) -> str:
        return unqualify(self.customer, self.id)


class Company(models.Model):
    """An EverReal company; its key is qualified as ``Partner``'s is."""

    id = models.CharField(_("key"), max_length=KEY_MAX_LENGTH, primary_key=True)
    customer = customer_field()
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

    @property
    def everreal_id(self) -> str:
        return unqualify(self.customer, self.id)


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
    customer = customer_field()
    everreal_id = models.CharField(_("EverReal id"), max_length=64)
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
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "everreal_id"], name="everreal_account_unique"
            )
        ]

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

    #: The EverReal id, qualified with the customer (``protocol.qualify``).
    everreal_id = models.CharField(
        _("key"), max_length=KEY_MAX_LENGTH, primary_key=True
    )
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
    customer = customer_field()
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


class WebhookSubscription(models.Model):
    """One event type that a customer's EverReal delivers to this site.

    Registered through a service account of that customer (``manage.py
    everreal_webhooks sync``). EverReal signs nothing, so the URL it
    delivers to carries a random secret; only its SHA-256 is kept.
    """

    customer = customer_field()
    service_account = models.ForeignKey(
        ServiceAccount,
        verbose_name=_("service account"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    event_type = models.CharField(_("event type"), max_length=100)
    #: EverReal's id of the registration (the ``Location`` of its answer).
    everreal_id = models.CharField(_("EverReal id"), max_length=64, blank=True)
    #: EverReal's company the registration belongs to (the service account's current one).
    company_id = models.CharField(_("EverReal company"), max_length=64, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["customer", "event_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_account", "event_type"],
                name="everreal_webhook_subscription_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.service_account.name})"


class WebhookEvent(models.Model):
    """One delivery of EverReal's, stored once by its ``uuid``, processed in the background."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    STATUS_CHOICES = [
        (PENDING, _("pending")),
        (PROCESSING, _("processing")),
        (PROCESSED, _("processed")),
        (FAILED, _("failed")),
    ]

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    customer = customer_field()
    uuid = models.CharField(_("delivery id"), max_length=64)
    event_type = models.CharField(_("event type"), max_length=100)
    subdomain = models.CharField(_("subdomain"), max_length=63, blank=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    created_at = models.DateTimeField(_("created at EverReal"), null=True, blank=True)
    #: EverReal's ``data``, as it came (``None``: it sent ``null``).
    data = models.JSONField(_("data"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=20, choices=STATUS_CHOICES, default=PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    #: While a worker processes the event; past it, the event is processed again.
    lease_until = models.DateTimeField(_("processing until"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "uuid"], name="everreal_webhook_event_unique"
            )
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.uuid}"

    @property
    def company_id(self) -> str:
        """EverReal's id of the company the subscription was registered for."""
        return self.subscription.company_id if self.subscription else ""

    @property
    def company(self) -> Company | None:
        """The company of the event, as this site stores it; ``None`` when unknown."""
        company_id = self.company_id
        if not company_id:
            return None
        return Company.objects.filter(pk=qualify(self.customer, company_id)).first()

    @property
    def everreal(self) -> Any:
        """An ``EverRealClient`` of the service account that registered the subscription.

        For re-fetching what the event names: EverReal signs no delivery,
        so its ``data`` is a hint, not a fact.
        """
        from django_everreal.client import EverRealClient

        if self.subscription is None:
            raise LookupError(f"{self!r} has no subscription (it was deleted).")
        return EverRealClient(self.subscription.service_account)
