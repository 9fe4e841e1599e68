"""Writing a run's insights, and ending those that no longer stand.

A finding is known by its key (detector + subject). Found again while an earlier insight with that key is
still active (pinned, or not past its expiry), it refreshes that insight rather than adding one: the same id,
status, pinned state and feedback, with the new words, measures, evidence, expiry and run (a version bump and
an UPDATED change event, like any other change). A finding the person dismissed stays dismissed until its
evidence names other records or it expires; then it comes back as a new insight.

There is no unique index on (user, key) across runs: two runs of one person could each see no earlier insight
and both insert. They cannot interleave, though: every unit of work takes the person's advisory lock in its
first statement (README, "Writers queue per user"), so the second run's look-up runs after the first's commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.model import Insight
from aurum.hrm.scopes import scope_gone
from aurum.models import table_of

INSIGHTS = table_of(Insight)
HIGH_IMPACT = 0.7  # insights at or above this impact are notified
KEPT = ("user_id", "dedupe_key")  # what a refresh never changes (nor id, status, pinned, created_at)


async def _standing(
    session: AsyncSession, user_id: uuid.UUID, keys: Sequence[str], now: datetime
) -> dict[str, Any]:
    """The latest insight still standing for each key: active or dismissed, pinned or not yet expired."""
    rows = (
        await session.execute(
            select(INSIGHTS)
            .where(
                INSIGHTS.c.user_id == user_id,
                INSIGHTS.c.dedupe_key.in_(list(keys)),
                INSIGHTS.c.status.in_(("active", "dismissed")),
                or_(INSIGHTS.c.pinned, INSIGHTS.c.expires_at > now),
            )
            .order_by(INSIGHTS.c.created_at, INSIGHTS.c.id)
        )
    ).all()
    return {row.dedupe_key: row for row in rows}  # the latest wins


def _records(evidence: Sequence[dict[str, Any]]) -> set[str]:
    return {str(e["id"]) for e in evidence}


def _changed(before: Any, row: dict[str, Any]) -> bool:
    """Whether a dismissed finding came back about other records (not merely other numbers)."""
    return _records(before.evidence) != _records(row["evidence"])


def _crosses(before: float, after: float) -> bool:
    return before < HIGH_IMPACT <= after


async def _refresh(session: AsyncSession, before: Any, row: dict[str, Any], now: datetime) -> None:
    values = {name: value for name, value in row.items() if name not in KEPT}
    await session.execute(
        update(INSIGHTS)
        .where(INSIGHTS.c.id == before.id)
        .values(**values, updated_at=now, version=INSIGHTS.c.version + 1)
    )


async def write_insights(
    session: AsyncSession, user_id: uuid.UUID, rows: Sequence[dict[str, Any]], now: datetime
) -> list[uuid.UUID]:
    """Insert the new findings, refresh the standing ones, leave the dismissed ones that did not change;
    returns the insights to notify (new, or newly of high impact). Runs under the person's advisory lock (see
    the module's docstring)."""
    if not rows:
        return []
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)  # the first (most impactful) of a key
    standing = await _standing(session, user_id, list(unique), now)
    fresh: list[dict[str, Any]] = []
    notify: list[uuid.UUID] = []
    for row in unique.values():
        before = standing.get(row["dedupe_key"])
        if before is None or (before.status == "dismissed" and _changed(before, row)):
            fresh.append(row)
        elif before.status == "active":
            await _refresh(session, before, row, now)
            if _crosses(before.impact, row["impact"]):
                notify.append(before.id)
    if fresh:
        inserted = (
            await session.execute(
                insert(INSIGHTS)
                .values(fresh)
                .on_conflict_do_nothing(index_elements=["run_id", "dedupe_key"])
                .returning(INSIGHTS.c.id, INSIGHTS.c.impact)
            )
        ).all()
        notify += [r.id for r in inserted if r.impact >= HIGH_IMPACT]
    return notify


async def expire_due(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Active insights past their expiry become expired (pinned ones stay)."""
    result = await session.execute(
        update(INSIGHTS)
        .where(
            INSIGHTS.c.user_id == user_id,
            INSIGHTS.c.status == "active",
            INSIGHTS.c.pinned.is_(False),
            INSIGHTS.c.expires_at <= now,
        )
        .values(status="expired", updated_at=now, version=INSIGHTS.c.version + 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def expire_orphans(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Active insights about a record that was deleted become expired, pinned or not (and are unpinned):
    what they were about is gone. Dismissed ones keep the person's verdict."""
    result = await session.execute(
        update(INSIGHTS)
        .where(INSIGHTS.c.user_id == user_id, INSIGHTS.c.status == "active", scope_gone())
        .values(status="expired", pinned=False, updated_at=now, version=INSIGHTS.c.version + 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)
