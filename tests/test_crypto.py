from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from django_everreal import crypto
from django_everreal.crypto import TokenDecryptionError
from django_everreal.models import Account
from django_everreal.models import Customer
from django_everreal.models import ServiceAccount
from tests.everreal_accounts import make_account

OLD_SECRET = "old-secret-key-for-the-tests"
NEW_SECRET = "new-secret-key-for-the-tests"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def rotate(*args):
    out = io.StringIO()
    call_command("everreal_rotate_token_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def store_tokens(n_accounts=3):
    """Accounts and a service account whose tokens are under the current key."""
    accounts = []
    for number in range(n_accounts):
        account = make_account()
        account.set_tokens(f"access-{number}", f"refresh-{number}", 3600)
        account.save()
        accounts.append(account)
    service = ServiceAccount(name="reports", username="robot@example.com")
    service.set_tokens("service-access", "service-refresh", 3600)
    service.save()
    return accounts, service


def readable_tokens():
    return sorted(
        token
        for model in (Account, ServiceAccount)
        for row in model.objects.all()
        for token in (row.access_token, row.refresh_token)
    )


EXPECTED = sorted(
    [f"access-{n}" for n in range(3)]
    + [f"refresh-{n}" for n in range(3)]
    + ["service-access", "service-refresh"]
)


def test_roundtrip_and_empty():
    assert crypto.decrypt(crypto.encrypt("a token")) == "a token"
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""
    assert crypto.encrypt("a token") != "a token"


@pytest.mark.django_db
def test_secret_key_rotation_with_fallback_and_command():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        store_tokens()

    # The new key is in place, the old one a fallback: everything still reads.
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        assert readable_tokens() == EXPECTED
        with pytest.raises(SystemExit) as exit_info:
            rotate("--check")
        assert exit_info.value.code == 1
        output = rotate()
        assert "Re-encrypted 8 of 8" in output
        assert "0 of 8" in rotate("--check")

    # The fallback is gone and nothing is lost.
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert readable_tokens() == EXPECTED


@pytest.mark.django_db
def test_check_writes_nothing():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        store_tokens(1)
    before = list(Account.objects.values_list("encrypted_access_token", flat=True))
    out = io.StringIO()
    with (
        override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]),
        pytest.raises(SystemExit),
    ):
        call_command("everreal_rotate_token_keys", "--check", stdout=out)
    assert "4 of 4 stored EverReal tokens are not encrypted with the current key" in (
        out.getvalue()
    )
    assert (
        list(Account.objects.values_list("encrypted_access_token", flat=True)) == before
    )


@pytest.mark.django_db
def test_rotation_in_small_batches_and_again():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        store_tokens(5)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        assert "Re-encrypted 12 of 12" in rotate("--batch-size", "2")
        assert "Re-encrypted 0 of 12" in rotate()
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert len(readable_tokens()) == 12


@pytest.mark.django_db
def test_unreadable_tokens_are_reported_and_left_alone():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        store_tokens(1)
    before = Account.objects.get().encrypted_access_token
    err = io.StringIO()
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        call_command("everreal_rotate_token_keys", stdout=io.StringIO(), stderr=err)
    assert "4 stored tokens cannot be decrypted" in err.getvalue()
    assert Account.objects.get().encrypted_access_token == before


@pytest.mark.django_db
def test_token_keys_setting_first_encrypts_all_decrypt():
    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_A]):
        store_tokens()
        old_ciphertext = Account.objects.first().encrypted_access_token

    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_B, KEY_A]):
        assert readable_tokens() == EXPECTED
        fresh = crypto.encrypt("new")
        assert Fernet(KEY_B.encode()).decrypt(fresh.encode()) == b"new"
        rotate()
        assert Account.objects.first().encrypted_access_token != old_ciphertext

    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_B]):
        assert readable_tokens() == EXPECTED


@pytest.mark.django_db
def test_token_keys_win_over_secret_key():
    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_A], SECRET_KEY=OLD_SECRET):
        value = crypto.encrypt("token")
    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_A], SECRET_KEY=NEW_SECRET):
        assert crypto.decrypt(value) == "token"
    with (
        override_settings(EVERREAL_TOKEN_KEYS=[], SECRET_KEY=OLD_SECRET),
        pytest.raises(TokenDecryptionError),
    ):
        crypto.decrypt(value)


def test_wrong_key_gives_a_clear_error():
    with override_settings(EVERREAL_TOKEN_KEYS=[KEY_A]):
        value = crypto.encrypt("token")
    with (
        override_settings(EVERREAL_TOKEN_KEYS=[KEY_B]),
        pytest.raises(TokenDecryptionError, match="EVERREAL_TOKEN_KEYS"),
    ):
        crypto.decrypt(value)


@pytest.mark.django_db
def test_wrong_key_on_a_model_gives_the_same_error():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        store_tokens(1)
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        account = Account.objects.get()
        with pytest.raises(TokenDecryptionError, match="SECRET_KEY_FALLBACKS"):
            account.access_token


@pytest.mark.parametrize("keys", [["not-a-key"], [KEY_A, "short"], "a-string"])
def test_invalid_token_keys_name_the_setting(keys):
    with (
        override_settings(EVERREAL_TOKEN_KEYS=keys),
        pytest.raises(ImproperlyConfigured, match="EVERREAL_TOKEN_KEYS"),
    ):
        crypto.encrypt("token")


@pytest.mark.django_db
def test_rotation_command_refuses_invalid_keys():
    from django.core.management.base import CommandError

    with (
        override_settings(EVERREAL_TOKEN_KEYS=["nope"]),
        pytest.raises(CommandError, match="EVERREAL_TOKEN_KEYS"),
    ):
        rotate()


@pytest.mark.django_db
def test_the_registrys_client_secrets_are_rotated_with_the_tokens():
    with override_settings(SECRET_KEY=OLD_SECRET, SECRET_KEY_FALLBACKS=[]):
        customer = Customer(subdomain="beta", client_id="beta-client")
        customer.set_client_secret("beta-secret")
        customer.save()

    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[OLD_SECRET]):
        assert "Re-encrypted 1 of 1" in rotate()
    with override_settings(SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert Customer.objects.get().client_secret == "beta-secret"
