"""Opaque global ids: ``base64url("Type:uuid")``. Inputs also accept a bare UUID for the expected type."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence

from aurum.errors import InvalidInput, NotFound

URL_SAFE = bytes.maketrans(b"+/", b"-_")
KNOWN_IDS = 50_000  # global ids remembered per type: a page of 2,000 tasks makes 2,000 of them each time
_known: dict[str, dict[int, str]] = {}


def to_global_id(type_name: str, value: uuid.UUID) -> str:
    known = _known.get(type_name)
    if known is None:
        known = _known[type_name] = {}
    found = known.get(value.int)  # keyed by the int: no object for the garbage collector to walk
    if found is None:
        if len(known) >= KNOWN_IDS:
            known.clear()
        found = known[value.int] = _encoded(type_name, value)
    return found


def _encoded(type_name: str, value: uuid.UUID) -> str:
    # base64.urlsafe_b64encode, a third quicker
    raw = binascii.b2a_base64(f"{type_name}:{value}".encode(), newline=False)
    return raw.translate(URL_SAFE).rstrip(b"=").decode()


def parse_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """``(type, uuid)`` for a well-formed global id, else ``None``."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, raw_id = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, uuid.UUID(raw_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError):
        return None


def decode_id(value: str, type_name: str, field: Sequence[str]) -> uuid.UUID:
    """The UUID behind ``value`` if it names a ``type_name``; an id of another type is simply not found."""
    plain = parse_uuid(value) if len(value) == 36 else None
    if plain is not None:
        return plain
    parsed = parse_global_id(value)
    if parsed is None:
        raise InvalidInput(f"{shown(value)} is not a valid id", field)
    if parsed[0] != type_name:
        raise NotFound(f"No {type_name} with this id", field)
    return parsed[1]


def shown(value: str, most: int = 40) -> str:
    """A value the client sent, quoted in a message; a long one cut short, not echoed whole."""
    return repr(value) if len(value) <= most else repr(value[:most]) + f"… ({len(value)} characters)"
