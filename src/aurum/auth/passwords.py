"""Passwords: the policy, and hashing with Argon2id (19 MiB, 2 passes: the OWASP minimum).

Every password is NFKC-normalised before it is checked, hashed or verified (NIST SP 800-63B 5.1.1.2 asks for
NFKC or NFKD): the same characters typed on another keyboard or system (composed or decomposed accents, a
full-width layout, a no-break space) are the same password. NFKC rather than NFC because people cannot see the
difference between compatibility forms either; the few characters it folds together cost no real entropy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aurum.errors import InvalidInput

MIN_PASSWORD = 10
MAX_PASSWORD = 256
# A password that is one short run of characters over and over ("aaaa…", "abab…", an emoji and its variation
# selector repeated) is as weak as the run.
MAX_REPEATED_UNIT = 4

NORMALIZED, AS_TYPED = "normalized", "as typed"

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("aurum-dummy-password-for-unknown-accounts")


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def same_password(first: str, second: str) -> bool:
    return normalize_password(first) == normalize_password(second)


def hash_password(password: str) -> str:
    return _hasher.hash(normalize_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time on a dummy so timing reveals nothing."""
    return password_match(password_hash, password) is not None


def password_match(password_hash: str | None, password: str) -> str | None:
    """Which form of the password the hash is of: ``NORMALIZED``, ``AS_TYPED`` (a hash made before passwords
    were normalised: it is tried second, and the caller should hash the password again), or ``None``."""
    normalized = normalize_password(password)
    if _verify(password_hash, normalized):
        return NORMALIZED
    if normalized != password and _verify(password_hash, password):
        return AS_TYPED
    return None


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of real breaches, kept up by its maintainers.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _repeats_a_short_unit(password: str) -> bool:
    return any(
        len(password) % size == 0 and password == password[:size] * (len(password) // size)
        for size in range(1, MAX_REPEATED_UNIT + 1)
    )


def check_password_policy(password: str, email: str, field: Sequence[str]) -> None:
    """Long enough, not absurdly long, not blank or one character repeated, not a common password and not
    the email itself."""
    password = normalize_password(password)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"Passwords have {MIN_PASSWORD} to {MAX_PASSWORD} characters", field)
    if not password.strip():
        raise InvalidInput("The password cannot be only spaces", field)
    if _repeats_a_short_unit(password):
        raise InvalidInput("The password cannot be one character (or a few) repeated: choose another", field)
    lowered = password.lower()
    if lowered in _common_passwords():
        raise InvalidInput("This password is one of the most common ones: choose another", field)
    if lowered == email.strip().lower() or lowered == email.strip().lower().partition("@")[0]:
        raise InvalidInput("The password cannot be your email address", field)
