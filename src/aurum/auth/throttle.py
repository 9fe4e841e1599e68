"""Throttling in Redis for sign-in, password confirmation, password-reset requests and registration.

Each attempt is counted before any password is checked, atomically, in every bucket it belongs to: that is
what holds against many requests in parallel, each taking a place, so no more than a bucket's limit are ever
let through in its window. An attempt refused by one bucket gives its places back in all of them (it checked
nothing), and so does one that fails on our side (the database down): only attempts whose caller heard about
the password count. A right password clears the buckets that are the caller's own and gives its place back
in the shared ones.

A stranger's sign-in counts per account and address, per address (one address guessing many accounts), and
toward the account's ceiling, a higher limit over a longer window (a guesser spread over many addresses).
A known device (a device token from an earlier sign-in to the account, or the session of the access token
confirming a password) counts in buckets of its own instead, so others' failures never lock it out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurum.auth.emails import normalize_email
from aurum.errors import DomainError, DomainErrors, RateLimited
from aurum.settings import Settings

log = structlog.get_logger(__name__)

EMAIL_FIELD = ("input", "email")
# Registering answers CONFLICT for a taken email, so it tells whether an address has an account: a person
# registers once or twice, an enumeration many times.
REGISTRATIONS_PER_ADDRESS = 10
REGISTRATION_WINDOW_SECONDS = 10 * 60
IPV6_NETWORK = 64  # one subscriber's IPv6 network: its addresses are one address here


@dataclass(frozen=True)
class Bucket:
    key: str
    limit: int
    window: int  # seconds
    own: bool = False  # the caller's alone: a right password clears it


class Reservation:
    """The places one attempt took."""

    def __init__(self, redis: Redis, buckets: Sequence[Bucket], purpose: str, counted: bool) -> None:
        self._redis, self._buckets, self._purpose, self._counted = redis, buckets, purpose, counted

    async def give_back(self) -> None:
        """The attempt told the caller nothing: it never counted."""
        await self._update(self._buckets, clear=())

    async def succeeded(self) -> None:
        """A right password: the caller's own buckets are cleared, the shared ones get the place back."""
        await self._update([b for b in self._buckets if not b.own], clear=[b for b in self._buckets if b.own])

    @asynccontextmanager
    async def given_back_if_we_fail(self) -> AsyncIterator[None]:
        """Around the work the attempt is for: an unexpected error (not an answer to the caller's input)
        gives the places back."""
        try:
            yield
        except (DomainError, DomainErrors):
            raise
        except Exception:
            await self.give_back()
            raise

    async def _update(self, decrement: Sequence[Bucket], clear: Sequence[Bucket]) -> None:
        if not self._counted:
            return
        keys = [b.key for b in decrement] + [b.key for b in clear]
        try:
            await self._redis.register_script(GIVE_BACK)(keys=keys, args=[len(decrement)])
        except (RedisError, OSError):
            log.warning("throttle not updated: redis unavailable", purpose=self._purpose)


# The first ARGV[1] keys lose one place, the others are cleared. A plain DECR of a key whose window ended
# meanwhile would make it again, at -1 and with no expiry: a bucket that never empties.
GIVE_BACK = """
for index, key in ipairs(KEYS) do
  if index > tonumber(ARGV[1]) then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    redis.call('DECR', key)
  end
end
"""


async def reserve(
    redis: Redis, buckets: Sequence[Bucket], purpose: str, field: Sequence[str] = EMAIL_FIELD
) -> Reservation:
    """Count one attempt in each bucket; ``RateLimited`` on ``field`` (a field of the caller's input) when
    any is full. With Redis down nothing is counted and nothing refused: signing in must survive an outage,
    and the Argon2 cost still slows guessing meanwhile."""
    try:
        async with redis.pipeline(transaction=True) as pipe:
            for bucket in buckets:
                pipe.set(bucket.key, 0, ex=bucket.window, nx=True)
                pipe.incr(bucket.key)
                pipe.ttl(bucket.key)
            replies = await pipe.execute()
    except (RedisError, OSError):
        log.warning("throttle skipped: redis unavailable", purpose=purpose)
        return Reservation(redis, buckets, purpose, counted=False)
    reservation = Reservation(redis, buckets, purpose, counted=True)
    waits = [
        replies[3 * index + 2]
        for index, bucket in enumerate(buckets)
        if replies[3 * index + 1] > bucket.limit
    ]
    if waits:
        await reservation.give_back()
        raise RateLimited(f"Too many attempts: try again in {_wait(max(waits))}", field)
    return reservation


def _wait(seconds: int) -> str:
    minutes = max(1, math.ceil(max(seconds, 1) / 60))
    if minutes > 120:
        return f"{math.ceil(minutes / 60)} hours"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def address_key(address: str | None) -> str:
    """An IPv4 address, or the IPv6 network it is in (one subscriber has a whole /64 to rotate through)."""
    if not address:
        return "-"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_NETWORK}", strict=False))
    return str(parsed)


def account_key(email: str) -> str:
    """The stored form: "U@EXAMPLE.COM", "ｕ@example.com" and "u@example.com" share one bucket."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings, purpose: str = "login") -> None:
        self._redis = redis
        self._settings = settings
        self._purpose = purpose

    def _stranger(self, email: str, address: str | None) -> list[Bucket]:
        settings, prefix = self._settings, f"aurum:throttle:{self._purpose}"
        account, window = account_key(email), settings.login_window_seconds
        return [
            Bucket(
                f"{prefix}:account-address:{account}:{address_key(address)}",
                settings.login_failures_per_account_address,
                window,
                own=True,
            ),
            Bucket(f"{prefix}:address:{address_key(address)}", settings.login_failures_per_address, window),
            Bucket(
                f"{prefix}:account:{account}",
                settings.login_failures_per_account,
                settings.login_account_window_seconds,
            ),
        ]

    def _known(self, device: str) -> list[Bucket]:
        settings, prefix = self._settings, f"aurum:throttle:{self._purpose}"
        return [
            Bucket(
                f"{prefix}:device:{device}",
                settings.login_failures_per_account_address,
                settings.login_window_seconds,
                own=True,
            ),
            Bucket(
                f"{prefix}:device-day:{device}",
                settings.login_failures_per_account,
                settings.login_account_window_seconds,
            ),
        ]

    async def attempt(
        self,
        email: str,
        address: str | None,
        *,
        known_device: str | None = None,
        field: Sequence[str] = EMAIL_FIELD,
    ) -> Reservation:
        """Count an attempt on the account of ``email``: a stranger's from ``address``, or a known device's
        (``known_device``, its id) in its own buckets. ``RateLimited`` names ``field``."""
        buckets = self._known(known_device) if known_device else self._stranger(email, address)
        return await reserve(self._redis, buckets, self._purpose, field)


class RegistrationThrottle:
    """Registrations per client address, counted once the input is valid (only those can answer CONFLICT)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def attempt(self, address: str | None) -> Reservation:
        key = f"aurum:throttle:register:address:{address_key(address)}"
        bucket = Bucket(key, REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW_SECONDS)
        return await reserve(self._redis, [bucket], "register")
