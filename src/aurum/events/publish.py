"""Announcing committed events on Redis: a wake-up per user; the events themselves stay in PostgreSQL.

A process announces its own writes right after commit. If it dies first, or Redis is away, the events stay
unpublished, and the sweep announces them within a few seconds. Announcing twice is harmless: subscribers
fetch from their own cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

import orjson
import structlog
from redis.exceptions import RedisError
from sqlalchemy import func, select

from aurum.db import raw_transaction

if TYPE_CHECKING:
    from aurum.resources import Resources

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "aurum:events"
CONTROL_CHANNEL = "aurum:control"

# Marks the users' unannounced events and says, per user, which is the last, with the generation of their
# priority scores when those are behind their data (migration 0022: one statement for every user of a
# round). The marks commit only after the wake-up is out: a crash in between leaves the events unmarked,
# for the sweep.
MARK_UNANNOUNCED = "SELECT user_id, last_id, stale_generation FROM aurum_mark_announced($1::uuid[])"


def wake_up(user_id: uuid.UUID, last_id: int) -> bytes:
    return orjson.dumps({"user": str(user_id), "last": last_id})


async def announce(resources: Resources, user_id: uuid.UUID) -> None:
    """Publish a wake-up for the user's unannounced events, marked published in the same transaction (a
    crash before it commits only means the sweep announces them again). Stale priority scores get their job
    queued (the scores' own sweep catches up when this cannot)."""
    await rescore(resources, await announce_many(resources, [user_id]))


async def announce_many(resources: Resources, user_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, int]]:
    """``announce`` for several users at once: one pooled connection, one transaction, one Redis round trip
    (raw asyncpg: this runs after every write). Returns the users whose scores are stale, with generation."""
    stale: list[tuple[uuid.UUID, int]] = []
    users = sorted(set(user_ids))  # one order of row locks for every announcer
    if not users:
        return stale
    try:
        async with raw_transaction(resources.engine) as raw:
            wake_ups: list[bytes] = []
            for user_id, last_id, stale_generation in await raw.fetch(MARK_UNANNOUNCED, users):
                user = uuid.UUID(bytes=user_id.bytes)
                if last_id is not None:
                    wake_ups.append(wake_up(user, last_id))
                if stale_generation is not None:
                    stale.append((user, stale_generation))
            await _publish(resources, wake_ups)
    except (RedisError, OSError) as error:
        log.warning("events not announced; the sweep will", error=type(error).__name__)
    return stale


async def rescore(resources: Resources, stale: list[tuple[uuid.UUID, int]]) -> None:
    """Queue the scoring job of each user whose scores are behind their data."""
    from aurum.hrm.scoring import request_rescore

    try:
        for user_id, generation in stale:
            await request_rescore(resources, user_id, generation)
    except (RedisError, OSError) as error:
        log.warning("scores not requested; their sweep will", error=type(error).__name__)


async def _publish(resources: Resources, wake_ups: list[bytes]) -> None:
    if len(wake_ups) == 1:
        await resources.redis.publish(EVENTS_CHANNEL, wake_ups[0])
    elif wake_ups:
        async with resources.redis.pipeline(transaction=False) as pipeline:
            for message in wake_ups:
                pipeline.publish(EVENTS_CHANNEL, message)
            await pipeline.execute()


class Announcer:
    """A process's announcements after its own writes, batched: while one round is out, the users written
    meanwhile wait for the next, so a burst of writes costs a few rounds rather than one each."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.due: set[uuid.UUID] = set()
        self.running = False

    def request(self, user_id: uuid.UUID) -> None:
        self.due.add(user_id)
        if not self.running:
            self.running = True
            self.resources.in_background(self._rounds())

    async def _rounds(self) -> None:
        try:
            while self.due:
                users, self.due = self.due, set()
                try:
                    stale = await announce_many(self.resources, users)
                except Exception:  # the sweep announces what this could not
                    log.warning("events not announced; the sweep will", exc_info=True)
                    continue
                if stale:  # off the announcing path: the next round need not wait for the job queue
                    self.resources.in_background(rescore(self.resources, stale))
        finally:
            self.running = False


async def sweep(resources: Resources, older_than_seconds: float, limit: int = 5000) -> int:
    """Announce events committed at least ``older_than_seconds`` ago and still unpublished, for every user."""
    async with resources.sessionmaker() as session, session.begin():
        claimed = (
            await session.execute(
                select(
                    func.aurum_claim_unpublished_events(
                        timedelta(seconds=older_than_seconds), limit
                    ).table_valued("user_id", "last_id")
                )
            )
        ).all()
    # Announced once the claim is committed; a crash in between leaves them claimed but fetched by the next
    # wake-up or reconnect of each subscriber's hub, never lost from the table.
    await _publish(resources, [wake_up(row.user_id, row.last_id) for row in claimed])
    if claimed:
        log.info("unpublished events announced", users=len(claimed))
    return len(claimed)


async def announce_control(resources: Resources, message: dict[str, object]) -> None:
    """Tell every API process about sessions that ended (their sockets close)."""
    try:
        await resources.redis.publish(CONTROL_CHANNEL, orjson.dumps(message))
    except (RedisError, OSError) as error:
        log.warning("control message not published", error=type(error).__name__)
