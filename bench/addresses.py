"""Each bench user signs up from an address of its own, as separate browsers would: the server throttles
registrations per address (the bench's servers trust X-Forwarded-For from loopback, AURUM_TRUSTED_PROXIES,
as a real one would from its own proxy)."""

from __future__ import annotations

import itertools

_next = itertools.count()


def own_address() -> dict[str, str]:
    n = next(_next)
    return {"x-forwarded-for": f"198.18.{n // 250 % 256}.{n % 250 + 1}"}
