"""Email addresses: what we accept, and the one form each is stored and looked up in.

``email-validator`` is not installed, so this is our own check of the common (dot-atom) form: RFC 5321
lengths, one ``@``, no empty, leading or trailing dot-separated parts, and a domain of valid DNS labels.
The address is NFKC-normalised first (full-width ``ｕ＠ｅｘ．ｃｏｍ`` is ``u@ex.com``) and the domain is
stored in its ASCII (IDNA, UTS 46) form, so ``exämple.com`` and ``xn--exmple-cua.com`` are one domain
and mail goes out without needing SMTPUTF8.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import idna

from aurum.errors import InvalidInput

MAX_LOCAL_OCTETS = 64
MAX_ADDRESS_OCTETS = 254
INVALID_EMAIL = "Enter a valid email address"
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def canonical_email(email: str) -> str | None:
    """The stored form of ``email`` (NFKC, lower case, ASCII domain), or ``None`` if it is not valid."""
    address = unicodedata.normalize("NFKC", email.strip()).lower()
    local, at, domain = address.rpartition("@")
    if not at or not _valid_local(local):
        return None
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return None
    canonical = f"{local}@{ascii_domain}"
    return canonical if len(canonical.encode()) <= MAX_ADDRESS_OCTETS else None


def normalize_email(email: str) -> str:
    """The form to look an address up by: the canonical one, or for an invalid address (which no account
    registered since has) the trimmed lower case, so it finds an old account or nothing."""
    return canonical_email(email) or email.strip().lower()


def check_email(email: str, field: Sequence[str]) -> str:
    """The canonical form of a valid address; else ``InvalidInput`` on ``field``."""
    canonical = canonical_email(email)
    if canonical is None:
        raise InvalidInput(INVALID_EMAIL, field)
    return canonical


def _valid_local(local: str) -> bool:
    if not local or len(local.encode()) > MAX_LOCAL_OCTETS:
        return False
    return all(part and all(_local_character(c) for c in part) for part in local.split("."))


def _local_character(character: str) -> bool:
    # Non-ASCII letters, marks and digits are allowed (RFC 6531); quoted local parts are not.
    return character in _ATEXT or (ord(character) > 127 and unicodedata.category(character)[0] in "LMN")


def _ascii_domain(domain: str) -> str | None:
    if not domain or domain.endswith("."):
        return None
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or len(ascii_domain) > 253:
        return None
    return ascii_domain if all(_LABEL.fullmatch(label) for label in labels) else None
