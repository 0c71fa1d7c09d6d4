"""The password policy: long enough, and not among the passwords attackers try first."""

from __future__ import annotations

import pytest

from issuer import passwords
from issuer.errors import InvalidInput


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "a brand new passphrase",
        "7hG#kP2q!x9Z",
        "Tr0ub4dor&3xx",
        "wintry orchard lanterns " * 10,  # long ones are judged by their first 72 characters
    ],
)
def test_long_uncommon_passwords_are_accepted(password: str) -> None:
    passwords.check(password, email="ana@example.org", name="Ana Ruiz")


@pytest.mark.parametrize(
    ("password", "said"),
    [
        ("", "at least 12 characters"),
        ("eleven char", "at least 12 characters"),
        ("x" * 1001, "at most 1000 characters"),
        ("password1234", "this is a very common password"),  # breached lists, digits appended
        ("qwerty123456", "this is a very common password"),
        ("1qaz2wsx3edc", "too easy to guess"),  # a keyboard walk
        ("aaaaaaaaaaaaaaaa", "repeats"),
        ("abcdefghijklmn", "sequences"),
        ("Password2024!", "too easy to guess"),
        ("iloveyou1234", "too easy to guess"),
        ("p@ssw0rd12345", "too easy to guess"),  # l33t spelling of a common one
    ],
)
def test_short_and_common_passwords_are_refused(password: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        passwords.check(password)


def test_the_persons_own_email_and_name_make_a_weak_password() -> None:
    for password in ("ana@example.org2026", "ana ruiz 2026", "AnaRuiz!2026"):
        passwords.check(password)  # fine for someone else
        with pytest.raises(InvalidInput, match="too easy to guess"):
            passwords.check(password, email="ana@example.org", name="Ana Ruiz")
