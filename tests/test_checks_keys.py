from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from django_everreal.checks import check_settings
from django_everreal.checks import check_token_keys

KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize("keys", [None, [], [KEY], (KEY, Fernet.generate_key())])
def test_valid_or_absent_keys_pass(keys):
    with override_settings(EVERREAL_TOKEN_KEYS=keys):
        assert check_token_keys() == []


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ("secret", "not str"),
        (KEY, "not str"),
        ({"a": KEY}, "not dict"),
        (["secret"], "position 0"),
        ([KEY, "secret", 12], "position 1, 2"),
    ],
)
def test_invalid_keys(keys, words):
    with override_settings(EVERREAL_TOKEN_KEYS=keys):
        [message] = check_token_keys()
    assert message.id == "everreal.E008"
    assert "EVERREAL_TOKEN_KEYS" in message.msg
    assert words in message.msg
    assert "secret" not in message.msg.replace("SECRET", "")


@override_settings(EVERREAL_TOKEN_KEYS=["secret"])
def test_part_of_the_settings_checks():
    assert [message.id for message in check_settings()] == ["everreal.E008"]
