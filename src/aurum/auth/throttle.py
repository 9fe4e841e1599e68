"""Throttling in Redis for sign-in and password-reset requests: attempts counted per account and per client
address in a fixed window; a successful sign-in gives its attempt back."""

from __future__ import annotations

import hashlib
import math

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurum.errors import RateLimited
from aurum.settings import Settings

log = structlog.get_logger(__name__)


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings, purpose: str = "login") -> None:
        self._redis = redis
        self._purpose = purpose
        self._window = settings.login_window_seconds
        self._limits = (settings.login_failures_per_account, settings.login_failures_per_address)

    def _keys(self, email: str, address: str | None) -> tuple[str, str]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        prefix = f"aurum:throttle:{self._purpose}"
        return f"{prefix}:account:{account}", f"{prefix}:address:{address or '-'}"

    async def attempt(self, email: str, address: str | None) -> None:
        """Count this attempt before any password is checked, and refuse it once either bucket is full.

        Counting first (atomically) is what holds against many requests in parallel: each one takes a place,
        so no more than the limit are ever checked in a window."""
        keys = self._keys(email, address)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.set(key, 0, ex=self._window, nx=True)
                    pipe.incr(key)
                    pipe.ttl(key)
                replies = await pipe.execute()
        except (RedisError, OSError):
            # Signing in must survive a Redis outage; the Argon2 cost still slows guessing meanwhile.
            log.warning("throttle skipped: redis unavailable", purpose=self._purpose)
            return
        for index, limit in enumerate(self._limits):
            count, ttl = replies[3 * index + 1], replies[3 * index + 2]
            if count > limit:
                minutes = max(1, math.ceil(max(ttl, 1) / 60))
                raise RateLimited(
                    f"Too many attempts: try again in {minutes} minute{'s' if minutes > 1 else ''}",
                    ["input", "email"],
                )

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
