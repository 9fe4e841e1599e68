"""Passwords: the policy, and hashing with Argon2id (19 MiB, 2 passes: the OWASP minimum)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aurum.errors import InvalidInput

MIN_PASSWORD = 10
MAX_PASSWORD = 256

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("aurum-dummy-password-for-unknown-accounts")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time on a dummy so timing reveals nothing."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of real breaches, kept up by its maintainers.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, email: str, field: Sequence[str]) -> None:
    """Long enough, not absurdly long, not a common password and not the email itself."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"Passwords have {MIN_PASSWORD} to {MAX_PASSWORD} characters", field)
    lowered = password.lower()
    if lowered in _common_passwords():
        raise InvalidInput("This password is one of the most common ones: choose another", field)
    if lowered == email.strip().lower() or lowered == email.strip().lower().partition("@")[0]:
        raise InvalidInput("The password cannot be your email address", field)
