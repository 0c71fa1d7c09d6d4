"""The password policy: long enough, and not one that attackers try first.

NIST SP 800-63B (5.1.1.2) asks for a minimum length and a check against passwords known from
breaches and common use, nothing else (no composition rules, no expiry). Ours:

- at least MIN_LENGTH (12) characters, at most limits.PASSWORD;
- an estimate of at least 10^8 guesses (zxcvbn's score 3) by zxcvbn, Dropbox's estimator, run
  offline on its bundled lists: the 30,000 most common passwords of the Xato breach corpus,
  English words, names and TV and film words, with keyboard walks, repeats, sequences, dates
  and l33t spellings of any of them, and the person's own e-mail and name. So `password1234`,
  `qwerty123456` and `Lee@example.org!` are refused although they are long enough.

Pure: a password and its owner's e-mail and name in, InvalidInput out. Nothing is fetched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

from zxcvbn import zxcvbn

from issuer import limits
from issuer.errors import InvalidInput

MIN_LENGTH = 12
MIN_SCORE = 3  # zxcvbn: 0 (too guessable) … 4; 3 is "safely unguessable", at least 10^8 guesses
# zxcvbn refuses longer input (its matching is quadratic): a longer password is judged by its
# first 72 characters, which it is at least as hard to guess as.
_ESTIMATED = 72
# zxcvbn keeps the user inputs of a call in a module-level dictionary that every call
# replaces: two threads estimating at once could each be judged with the other's inputs.
_estimating = threading.Lock()


def check(password: str, *, email: str = "", name: str = "") -> None:
    """InvalidInput saying why, when `password` may not be anyone's (or this person's)."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > limits.PASSWORD:
        raise InvalidInput(f"a password has at most {limits.PASSWORD} characters")
    with _estimating:
        estimate = zxcvbn(password[:_ESTIMATED], user_inputs=_own_words(email, name))
    if estimate["score"] < MIN_SCORE:
        raise InvalidInput(f"this password is too easy to guess{_why(estimate['feedback'])}")


def _why(feedback: Mapping[str, object]) -> str:
    warning = feedback.get("warning")
    if isinstance(warning, str) and warning:
        return f": {warning.rstrip('.').lower()}"
    return ": it is too close to common words, dates, or your own name or e-mail address"


def _own_words(email: str, name: str) -> list[str]:
    """The person's e-mail and its local part, their name, run together and word by word
    (3 letters or more: a shorter one would make many good passwords look guessable)."""
    parts = [part for part in re.split(r"[\s.\-_']+", name) if part]
    words = [email, email.split("@")[0], name, "".join(parts), *parts]
    return [word.lower() for word in words if len(word) >= 3]
