"""Revoked sessions, remembered in Redis for as long as their access tokens could still be presented.

Refresh tokens are checked against PostgreSQL on every use; access tokens are self-contained, so the request
path asks Redis (one round trip) whether their session was revoked since they were issued.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurum.events.publish import announce_control
from aurum.settings import Settings

if TYPE_CHECKING:
    from aurum.resources import Resources

log = structlog.get_logger(__name__)


def _key(session_id: uuid.UUID) -> str:
    return f"aurum:auth:revoked:{session_id.hex}"


async def remember_revoked(redis: Redis, settings: Settings, session_ids: Iterable[uuid.UUID]) -> None:
    ttl = settings.access_token_minutes * 60 + 60
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.set(_key(session_id), 1, ex=ttl)
        await pipe.execute()


async def sessions_ended(
    resources: Resources, session_ids: Iterable[uuid.UUID], user_id: uuid.UUID | None = None
) -> None:
    """Refuse the ended sessions' access tokens from now on and close their sockets in every process (all
    of the user's, API keys' included, when ``user_id`` is given: the account is gone)."""
    ended = list(session_ids)
    if ended:
        try:
            await remember_revoked(resources.redis, resources.settings, ended)
        except (RedisError, OSError):
            log.warning("revocation not remembered: redis unavailable")
    if ended or user_id is not None:
        message: dict[str, object] = {"sessions": [str(s) for s in ended]}
        if user_id is not None:
            message["user"] = str(user_id)
        await announce_control(resources, message)


async def is_revoked(redis: Redis, session_id: uuid.UUID) -> bool:
    """Whether the session was revoked; when Redis cannot answer, the token's short life is the bound."""
    try:
        return bool(await redis.exists(_key(session_id)))
    except (RedisError, OSError):
        log.warning("revocation check skipped: redis unavailable")
        return False
