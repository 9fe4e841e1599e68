"""Reading the change log for the hub: raw asyncpg on one pooled connection, many users in one transaction.

The hub reads on every wake-up of every user with subscribers here, so this path skips the ORM: one pool
checkout per batch, then two prepared statements per user (who to act as, what changed since the cursor).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.db import RAW_ACT_AS, raw_transaction

PAGE = 500
# Row-level security shows the transaction one user's rows: each read names its user first (RAW_ACT_AS).
LAST_EVENT = "SELECT coalesce(max(id), 0) FROM events WHERE user_id = $1"
EVENTS_AFTER = (
    "SELECT id, entity_type, entity_id, operation, changed_fields, occurred_at FROM events"
    " WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
)


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    entity_type: str
    entity_id: uuid.UUID
    operation: str
    changed_fields: list[str]
    occurred_at: datetime


def _change(row: Any) -> Change:
    entity_id = row[2]
    return Change(row[0], row[1], uuid.UUID(bytes=entity_id.bytes), row[3], list(row[4]), row[5])


async def last_event_id(engine: AsyncEngine, user_id: uuid.UUID) -> int:
    """The id of the user's newest event (0 without any)."""
    async with raw_transaction(engine, readonly=True) as raw:
        await raw.fetchval(RAW_ACT_AS, str(user_id))
        return int(await raw.fetchval(LAST_EVENT, user_id))


async def read_changes(
    engine: AsyncEngine, positions: Sequence[tuple[uuid.UUID, int]], limit: int = PAGE
) -> dict[uuid.UUID, list[Change]]:
    """Up to ``limit`` events of each user after that user's position, oldest first."""
    found: dict[uuid.UUID, list[Change]] = {}
    async with raw_transaction(engine, readonly=True) as raw:
        for user_id, after in positions:
            await raw.fetchval(RAW_ACT_AS, str(user_id))
            rows = await raw.fetch(EVENTS_AFTER, user_id, after, limit)
            found[user_id] = [_change(row) for row in rows]
    return found
