"""What the hub reads: raw asyncpg on one pooled connection, many users at a time.

The hub reads the change log on every wake-up of every user with subscribers here, and rechecks the
credentials of every user with sockets here each interval, so these paths skip the ORM: one pool checkout per
batch. The change log is read in one statement for all the users of a batch; the credentials in a
transaction, two prepared statements per user (who to act as, then which of the sockets' credentials ended).
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
# Up to a page of events of each user after that user's position: one statement for many users, with the
# owner's rights over the users named (migration 0022). The hub reads only for users whose sockets here
# signed in as them.
EVENTS_AFTER_MANY = (
    "SELECT user_id, id, entity_type, entity_id, operation, changed_fields, occurred_at"
    " FROM aurum_events_after($1::uuid[], $2::bigint[], $3)"
)
# What no longer stands of a user's credentials, from the durable record (a revocation announced while Redis
# was away never reached this process): ended sessions, revoked keys, and the user if the account is gone.
ENDED_CREDENTIALS = (
    "SELECT id FROM auth_sessions WHERE id = ANY($2::uuid[]) AND revoked_at IS NOT NULL"
    " UNION ALL SELECT id FROM api_keys WHERE id = ANY($3::uuid[]) AND revoked_at IS NOT NULL"
    " UNION ALL SELECT $1::uuid WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $1::uuid)"
)


@dataclass(frozen=True, slots=True)
class Held:
    """The credentials a user's sockets here stand on."""

    user_id: uuid.UUID
    sessions: list[uuid.UUID]
    api_keys: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    entity_type: str
    entity_id: uuid.UUID
    operation: str
    changed_fields: list[str]
    occurred_at: datetime


def _change(row: Any, first: int = 0) -> Change:
    """The change of a row whose columns from ``first`` on are an event's, as EVENTS_AFTER_MANY's."""
    event_id, entity_type, entity_id, operation, changed, occurred_at = row[first : first + 6]
    return Change(
        event_id, entity_type, uuid.UUID(bytes=entity_id.bytes), operation, list(changed), occurred_at
    )


async def last_event_id(engine: AsyncEngine, user_id: uuid.UUID) -> int:
    """The id of the user's newest event (0 without any)."""
    async with raw_transaction(engine, readonly=True) as raw:
        await raw.fetchval(RAW_ACT_AS, str(user_id))
        return int(await raw.fetchval(LAST_EVENT, user_id))


async def read_changes(
    engine: AsyncEngine, positions: Sequence[tuple[uuid.UUID, int]], limit: int = PAGE
) -> dict[uuid.UUID, list[Change]]:
    """Up to ``limit`` events of each user after that user's position, oldest first: one statement for
    all of them (``EVENTS_AFTER_MANY``), on a pooled connection with no transaction around it."""
    found: dict[uuid.UUID, list[Change]] = {user_id: [] for user_id, _ in positions}
    if not found:
        return found
    users, afters = [u for u, _ in positions], [a for _, a in positions]
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        rows = await raw.fetch(EVENTS_AFTER_MANY, users, afters, limit)
    for row in rows:
        found[uuid.UUID(bytes=row[0].bytes)].append(_change(row, 1))
    return found


async def ended_credentials(engine: AsyncEngine, held: Sequence[Held]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """For each user, which of the sessions and keys held have ended (the user's own id: the account)."""
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    async with raw_transaction(engine, readonly=True) as raw:
        for user in held:
            await raw.fetchval(RAW_ACT_AS, str(user.user_id))
            rows = await raw.fetch(ENDED_CREDENTIALS, user.user_id, user.sessions, user.api_keys)
            found[user.user_id] = {uuid.UUID(bytes=row[0].bytes) for row in rows}
    return found
