"""What tracked time teaches: how long a person's tasks of each kind really take, and what is left of each
open task. The planner plans with it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.timetrack.service import minutes_spent

LEARNED_FROM = 3  # completed tasks with tracked time, per kind, before their median stands for the kind
WINDOW_DAYS = 90
USUAL_MINUTES = text(
    """SELECT coalesce(category, '') AS category,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS minutes
         FROM (SELECT t.id, t.category, sum(extract(epoch FROM e.ended_at - e.started_at)) / 60 AS minutes
                 FROM tasks t JOIN time_entries e ON e.task_id = t.id
                WHERE t.user_id = :user_id AND t.status = 'completed' AND e.ended_at IS NOT NULL
                  AND t.completed_at > now() - make_interval(days => :days)
                GROUP BY t.id, t.category) done
        GROUP BY coalesce(category, '') HAVING count(*) >= :enough"""
)


@dataclass(frozen=True)
class Effort:
    """The person's usual minutes per kind of task ('' for no kind), and minutes spent on open tasks."""

    usual: Mapping[str, int] = field(default_factory=dict)
    spent: Mapping[uuid.UUID, int] = field(default_factory=dict)


async def effort_of(session: AsyncSession, user_id: uuid.UUID, open_ids: Collection[uuid.UUID]) -> Effort:
    params = {"user_id": user_id, "days": WINDOW_DAYS, "enough": LEARNED_FROM}
    rows = await session.execute(USUAL_MINUTES, params)
    usual = {str(row.category): max(5, round(float(row.minutes))) for row in rows}
    return Effort(usual, await minutes_spent(session, open_ids) if open_ids else {})
