"""Throttling in Redis for sign-in, password-reset requests and registration: attempts counted per account
and per client address in a fixed window; a successful sign-in gives its attempt back."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurum.auth.emails import normalize_email
from aurum.errors import RateLimited
from aurum.settings import Settings

log = structlog.get_logger(__name__)

EMAIL_FIELD = ("input", "email")
# Registering answers CONFLICT for a taken email, so it tells whether an address has an account: a person
# registers once or twice, an enumeration many times.
REGISTRATIONS_PER_ADDRESS = 10
REGISTRATION_WINDOW_SECONDS = 10 * 60


async def _count(redis: Redis, keys: Sequence[str], window: int, purpose: str) -> list[tuple[int, int]]:
    """Count one attempt in each bucket: each bucket's count and seconds left, or nothing if Redis is down.

    Counting first (atomically) is what holds against many requests in parallel: each one takes a place,
    so no more than the limit are ever let through in a window."""
    try:
        async with redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.set(key, 0, ex=window, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
            replies = await pipe.execute()
    except (RedisError, OSError):
        # Signing in must survive a Redis outage; the Argon2 cost still slows guessing meanwhile.
        log.warning("throttle skipped: redis unavailable", purpose=purpose)
        return []
    return [(replies[3 * index + 1], replies[3 * index + 2]) for index in range(len(keys))]


def _refuse_beyond(counts: Sequence[tuple[int, int]], limits: Sequence[int], field: Sequence[str]) -> None:
    for (count, ttl), limit in zip(counts, limits, strict=False):
        if count > limit:
            minutes = max(1, math.ceil(max(ttl, 1) / 60))
            plural = "s" if minutes > 1 else ""
            raise RateLimited(f"Too many attempts: try again in {minutes} minute{plural}", field)


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings, purpose: str = "login") -> None:
        self._redis = redis
        self._purpose = purpose
        self._window = settings.login_window_seconds
        self._limits = (settings.login_failures_per_account, settings.login_failures_per_address)

    def _keys(self, email: str, address: str | None) -> tuple[str, str]:
        # The stored form: "U@EXAMPLE.COM", "ｕ@example.com" and "u@example.com" share one bucket.
        account = hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]
        prefix = f"aurum:throttle:{self._purpose}"
        return f"{prefix}:account:{account}", f"{prefix}:address:{address or '-'}"

    async def attempt(self, email: str, address: str | None, field: Sequence[str] = EMAIL_FIELD) -> None:
        """Count this attempt before any password is checked, and refuse it (``RateLimited`` on ``field``,
        a field of the caller's input) once either bucket is full."""
        counts = await _count(self._redis, self._keys(email, address), self._window, self._purpose)
        _refuse_beyond(counts, self._limits, field)

    async def succeeded(self, email: str, address: str | None) -> None:
        """A right password clears the account's count and gives the address its place back."""
        account, from_address = self._keys(email, address)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(account)
                pipe.decr(from_address)
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("throttle not updated: redis unavailable", purpose=self._purpose)


class RegistrationThrottle:
    """Registrations per client address, counted once the input is valid (only those can answer CONFLICT)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def attempt(self, address: str | None) -> None:
        key = f"aurum:throttle:register:address:{address or '-'}"
        counts = await _count(self._redis, [key], REGISTRATION_WINDOW_SECONDS, "register")
        _refuse_beyond(counts, [REGISTRATIONS_PER_ADDRESS], EMAIL_FIELD)
