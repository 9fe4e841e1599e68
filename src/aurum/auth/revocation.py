"""Revoked sessions: PostgreSQL records them (``auth_sessions.revoked_at``); Redis holds those of the last
access-token lifetime, so that the request path asks Redis, in one round trip, whether an access token's
session has ended (refresh tokens are checked against PostgreSQL at every use).

The cache is one hash, ``aurum:auth:revoked``: a field per revoked session, and ``built``, the ``run_id`` of
the Redis server it was built for. One key, so that eviction or FLUSHALL takes the marker along with the
entries. A check reads both at once (HMGET). When ``built`` is missing (an empty Redis, FLUSHALL, eviction,
expiry) or names another server (a Redis started again from files that may lack its last writes, a promoted
replica), or this process failed to write a revocation, the cache is built again from PostgreSQL before the
check answers. A process learns which server it reaches each time one of its connections (re)connects
(``aurum.redis_server``). When Redis cannot answer at all, PostgreSQL does. The hash expires some hours after
it was built and is then built again: that is what keeps it from growing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import structlog
from redis.exceptions import RedisError
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from aurum.auth.model import AuthSession
from aurum.auth.tokens import AccessClaims
from aurum.db import read_session
from aurum.events.publish import announce_control

if TYPE_CHECKING:
    from aurum.resources import Resources

log = structlog.get_logger(__name__)

KEY = "aurum:auth:revoked"
BUILT = "built"
REBUILT_EVERY = 6 * 3600  # seconds
MARGIN = timedelta(minutes=1)  # clocks of processes and database a little apart


Lookup = tuple[bytes | None, bytes | None]  # the cache's ``built`` marker, and a session's entry


@dataclass
class Revocations:
    """This process's side of the cache: one build at a time, the revocations it failed to write, and the
    checks of requests that arrive together, read in one HMGET (at 8 requests at once, a Redis round trip
    each was a quarter of the server's time for a one-row read)."""

    building: asyncio.Lock = field(default_factory=asyncio.Lock)
    failed_writes: int = 0
    built_after: int = 0  # ``failed_writes`` when the last build began: any failure since needs another
    lookups: DataLoader[str, Lookup] | None = None

    def current(self, resources: Resources, built: bytes | None) -> bool:
        run_id = resources.redis_server.run_id
        return (
            built is not None
            and run_id is not None
            and built.decode() == run_id
            and self.built_after == self.failed_writes
        )


def revocations(resources: Resources) -> Revocations:
    if resources.revocations is None:
        resources.revocations = Revocations()
    return resources.revocations


def _lookup(resources: Resources, state: Revocations, session_field: str) -> Awaitable[Lookup]:
    """The cache's entry for a session, with the marker it was read with, batched with the other
    requests' of this turn of the event loop (each waiter shielded: one request cancelled cancels no
    other's check)."""
    loop = asyncio.get_running_loop()
    if state.lookups is None or state.lookups.loop is not loop:

        async def read(fields: list[str]) -> list[Lookup]:
            reading = resources.redis.hmget(KEY, [BUILT, *fields])
            built, *entries = await cast("Awaitable[list[bytes | None]]", reading)
            return [(built, entry) for entry in entries]

        state.lookups = DataLoader(load_fn=read, cache=False, loop=loop)
    return asyncio.shield(state.lookups.load(session_field))


def _field(session_id: uuid.UUID) -> str:
    return session_id.hex


async def sessions_ended(
    resources: Resources, session_ids: Iterable[uuid.UUID], user_id: uuid.UUID | None = None
) -> None:
    """Refuse the ended sessions' access tokens from now on and close their sockets in every process (all
    of the user's, API keys' included, when ``user_id`` is given: the account is gone)."""
    ended = list(session_ids)
    if ended:
        try:
            await cast("Awaitable[int]", resources.redis.hset(KEY, mapping={_field(s): 1 for s in ended}))
        except (RedisError, OSError):
            revocations(resources).failed_writes += 1
            log.warning("revocation not written to redis: the cache is built again when it is back")
    if ended or user_id is not None:
        message: dict[str, object] = {"sessions": [str(s) for s in ended]}
        if user_id is not None:
            message["user"] = str(user_id)
        await announce_control(resources, message)


async def is_revoked(resources: Resources, claims: AccessClaims) -> bool:
    """Whether the access token's session has ended: from the cache, or from PostgreSQL when Redis cannot
    answer (a token of a session that is not there, the account deleted, is refused too)."""
    try:
        cached = await _cached(resources, claims.session_id)
    except (RedisError, OSError):
        log.warning("revocation checked in postgresql: redis unavailable")
        cached = None
    if cached is not None:
        return cached
    async with read_session(resources.sessionmaker, claims.user_id) as session:
        found = await session.execute(
            select(AuthSession.revoked_at).where(AuthSession.id == claims.session_id)
        )
        row = found.first()
    return row is None or row.revoked_at is not None


async def _cached(resources: Resources, session_id: uuid.UUID) -> bool | None:
    """The cache's answer, once it is built for the server that gives it; ``None`` if the server changed
    again while it was being built."""
    state = revocations(resources)
    for _ in range(2):
        built, entry = await _lookup(resources, state, _field(session_id))
        if state.current(resources, built):
            return entry is not None
        await _build(resources, state)
    return None


async def _build(resources: Resources, state: Revocations) -> None:
    """Write every session revoked within an access token's life into the cache, and mark it built for the
    server that holds it. Writes only add: a revocation written meanwhile is never lost."""
    async with state.building:
        built = await cast("Awaitable[bytes | None]", resources.redis.hget(KEY, BUILT))
        if state.current(resources, built):
            return  # built by another request of this process meanwhile
        failures, run_id = state.failed_writes, resources.redis_server.run_id
        lifetime = timedelta(minutes=resources.settings.access_token_minutes)
        ended = await _revoked_since(resources, datetime.now(UTC) - lifetime - MARGIN)
        async with resources.redis.pipeline(transaction=True) as pipe:
            if ended:
                pipe.hset(KEY, mapping={_field(s): 1 for s in ended})
            pipe.hset(KEY, BUILT, run_id or "")
            pipe.expire(KEY, REBUILT_EVERY)
            await pipe.execute()
        state.built_after = failures
        log.info("revocation cache built from postgresql", sessions=len(ended), run_id=run_id)


async def _revoked_since(resources: Resources, since: datetime) -> list[uuid.UUID]:
    async with resources.sessionmaker() as session, session.begin():
        rows = await session.scalars(
            select(func.aurum_auth_sessions_revoked_since(since).table_valued("session_id"))
        )
        return list(rows)
