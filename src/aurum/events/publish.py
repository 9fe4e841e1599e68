"""Announcing committed events on Redis: a wake-up per user; the events themselves stay in PostgreSQL.

A process announces its own writes right after commit. If it dies first, or Redis is away, the events stay
unpublished, and the sweep announces them within a few seconds. Announcing twice is harmless: subscribers
fetch from their own cursor.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import orjson
import structlog
from redis.exceptions import RedisError
from sqlalchemy import func, select, text

from aurum.db import read_session

if TYPE_CHECKING:
    from aurum.resources import Resources

log = structlog.get_logger(__name__)

EVENTS_CHANNEL = "aurum:events"
CONTROL_CHANNEL = "aurum:control"

# The user's last unpublished event and, when their priority scores are behind their data, its generation.
AFTER_WRITE = text(
    "SELECT (SELECT max(id) FROM events WHERE user_id = :user_id AND published_at IS NULL) AS last_id,"
    " (SELECT generation FROM hrm_score_state WHERE user_id = :user_id AND generation > scored_generation)"
    " AS stale_generation"
)
MARK_PUBLISHED = text(
    "UPDATE events SET published_at = clock_timestamp()"
    " WHERE user_id = :user_id AND published_at IS NULL AND id <= :last_id"
)


def wake_up(user_id: uuid.UUID, last_id: int) -> bytes:
    return orjson.dumps({"user": str(user_id), "last": last_id})


async def announce(resources: Resources, user_id: uuid.UUID) -> None:
    """Publish a wake-up for the user's unpublished events, then mark them published (in that order: a crash
    in between only means the sweep announces them again). Stale priority scores get their job queued (the
    scores' own sweep catches up when this cannot)."""
    from aurum.hrm.scoring import request_rescore

    try:
        async with read_session(resources.sessionmaker, user_id) as session:
            found = (await session.execute(AFTER_WRITE, {"user_id": user_id})).one()
            if found.stale_generation is not None:
                await request_rescore(resources, user_id, found.stale_generation)
            if found.last_id is None:
                return
            await resources.redis.publish(EVENTS_CHANNEL, wake_up(user_id, found.last_id))
            await session.execute(MARK_PUBLISHED, {"user_id": user_id, "last_id": found.last_id})
    except (RedisError, OSError) as error:
        log.warning("events not announced; the sweep will", error=type(error).__name__)


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
    for row in claimed:
        await resources.redis.publish(EVENTS_CHANNEL, wake_up(row.user_id, row.last_id))
    if claimed:
        log.info("unpublished events announced", users=len(claimed))
    return len(claimed)


async def announce_control(resources: Resources, message: dict[str, object]) -> None:
    """Tell every API process about sessions that ended (their sockets close)."""
    try:
        await resources.redis.publish(CONTROL_CHANNEL, orjson.dumps(message))
    except (RedisError, OSError) as error:
        log.warning("control message not published", error=type(error).__name__)
