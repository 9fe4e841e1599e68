"""Persisted documents' texts by SHA-256: this process's memory, then Redis, then PostgreSQL (the truth).

A text never changes under its hash, so every layer may keep it as long as it likes: the process keeps the
texts it served last (weighed by their length), Redis keeps each for a week from when it was cached, and a
text Redis lost or evicted is read again from PostgreSQL. Redis being away costs a lookup in PostgreSQL,
never an answer. New texts are counted per account and day in Redis (``AURUM_PERSISTED_DOCUMENTS_PER_DAY``):
past the allowance, or with Redis away, a text runs but is not kept."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections import OrderedDict

import redis.exceptions
import structlog
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from aurum.persisted.model import PersistedDocument
from aurum.resources import Resources

log = structlog.get_logger(__name__)

CACHE_PREFIX = "persisted:doc:"
ALLOWANCE_PREFIX = "persisted:new:"
CACHE_SECONDS = 7 * 24 * 3600
LOCAL_CHARACTERS = 1_000_000  # texts this process keeps in memory, by their total length
REDIS_ERRORS = (redis.exceptions.RedisError, OSError)


class DocumentStore:
    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        self._local: OrderedDict[str, str] = OrderedDict()
        self._local_characters = 0

    async def find(self, resources: Resources, sha256: str) -> str | None:
        """The text persisted under this hash, if any."""
        text = self._local.get(sha256)
        if text is not None:
            self._local.move_to_end(sha256)
            return text
        text = await _cached(resources.redis, sha256)
        if text is None:
            text = await _stored(resources, sha256)
            if text is not None:
                await _cache(resources.redis, sha256, text)
        if text is not None:
            self._remember(sha256, text)
        return text

    async def keep(self, resources: Resources, sha256: str, text: str, user_id: uuid.UUID) -> bool:
        """Persist a (valid, new) text, if the account's allowance for today is not spent."""
        if not await self._allowed(resources.redis, user_id):
            log.info("persisted document not kept: allowance spent", sha256=sha256, user_id=str(user_id))
            return False
        async with resources.engine.begin() as connection:
            await connection.execute(
                insert(PersistedDocument).values(sha256=sha256, document=text).on_conflict_do_nothing()
            )
        await _cache(resources.redis, sha256, text)
        self._remember(sha256, text)
        log.info("persisted document kept", sha256=sha256, user_id=str(user_id), characters=len(text))
        return True

    async def _allowed(self, redis: Redis, user_id: uuid.UUID) -> bool:
        if self.per_day <= 0:
            return False
        key = f"{ALLOWANCE_PREFIX}{user_id}:{dt.datetime.now(dt.UTC).date().isoformat()}"
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * 24 * 3600)
                count, _ = await pipe.execute()
        except REDIS_ERRORS:
            return False  # unknown: keep nothing rather than let anyone fill the table
        return int(count) <= self.per_day

    def _remember(self, sha256: str, text: str) -> None:
        if sha256 in self._local:
            return
        self._local[sha256] = text
        self._local_characters += len(text)
        while self._local_characters > LOCAL_CHARACTERS:
            _, evicted = self._local.popitem(last=False)
            self._local_characters -= len(evicted)


async def _cached(redis: Redis, sha256: str) -> str | None:
    try:
        found = await redis.get(CACHE_PREFIX + sha256)
    except REDIS_ERRORS as error:
        log.warning("persisted documents: Redis is away, reading PostgreSQL", reason=str(error))
        return None
    return found.decode() if isinstance(found, bytes) else found


async def _cache(redis: Redis, sha256: str, text: str) -> None:
    with contextlib.suppress(*REDIS_ERRORS):  # a cache: PostgreSQL has it
        await redis.set(CACHE_PREFIX + sha256, text.encode(), ex=CACHE_SECONDS)


async def _stored(resources: Resources, sha256: str) -> str | None:
    async with resources.engine.connect() as connection:
        query = select(PersistedDocument.document).where(PersistedDocument.sha256 == sha256)
        text: str | None = (await connection.execute(query)).scalar_one_or_none()
        return text
