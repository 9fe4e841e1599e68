"""Writing a pass's scores and the keys they were computed with (``aurum.hrm.ratings``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table, delete, func, not_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.factors import Score
from aurum.hrm.gather import among
from aurum.hrm.model import TaskScore
from aurum.hrm.plan import CHANGES, PILLAR_RATINGS, PROJECT_RATINGS, STATE
from aurum.models import table_of

SCORES = table_of(TaskScore)
BATCH = 1000  # rows per statement (PostgreSQL takes at most 32,767 parameters in one)
T = TypeVar("T")


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# One statement however many scores: the rows travel as arrays (no statement to compile per batch), and
# only those of tasks that still exist are written (computed from an earlier read: a task deleted since has
# none; this transaction holds the person's lock, so no delete comes in between). Unchanged scores are left.
UPSERT = """
INSERT INTO task_scores AS s (task_id, user_id, value, factors, computed_at)
SELECT n.task_id, $1, n.value, n.factors::jsonb, n.computed_at
  FROM unnest($2::uuid[], $3::float8[], $4::text[], $5::timestamptz[])
       AS n(task_id, value, factors, computed_at)
  JOIN tasks t ON t.id = n.task_id
ON CONFLICT (task_id) DO UPDATE
   SET value = excluded.value, factors = excluded.factors, computed_at = excluded.computed_at,
       version = s.version + 1
 WHERE s.value <> excluded.value OR s.factors <> excluded.factors
RETURNING s.task_id
"""
DROP_OTHERS = "DELETE FROM task_scores WHERE user_id = $1 AND NOT (task_id = ANY($2::uuid[]))"
DROP = "DELETE FROM task_scores WHERE task_id = ANY($1::uuid[])"


async def save_scores(
    session: AsyncSession,
    user_id: uuid.UUID,
    scores: Mapping[uuid.UUID, Score],
    drop: Collection[uuid.UUID] | None = None,
) -> int:
    """Write the scores that changed and drop those of ``drop`` (by default: every other task's, as a whole
    pass does). Returns how many changed."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    if drop is None:
        await raw.execute(DROP_OTHERS, user_id, list(scores))
    elif drop:
        await raw.execute(DROP, list(drop))
    if not scores:
        return 0
    ids, values, factors, moments = [], [], [], []
    for task_id, score in scores.items():
        ids.append(task_id)
        values.append(score.value)
        factors.append(orjson.dumps(score.factors_json()).decode())
        moments.append(score.computed_at)
    return len(await raw.fetch(UPSERT, user_id, ids, values, factors, moments))


async def save_keys(
    session: AsyncSession,
    user_id: uuid.UUID,
    projects: Mapping[uuid.UUID, str | None],
    pillars: Mapping[uuid.UUID, str],
    *,
    whole: bool,
) -> None:
    """Record the keys of the projects rated (None: it has no scores now) and of every pillar; a whole pass
    rated every project, so the others' keys go."""
    await _keys(session, user_id, PROJECT_RATINGS, "project_id", projects, everything=whole)
    await _keys(session, user_id, PILLAR_RATINGS, "pillar_id", pillars, everything=True)


async def _keys(
    session: AsyncSession,
    user_id: uuid.UUID,
    table: Table,
    column: str,
    keys: Mapping[uuid.UUID, str | None],
    *,
    everything: bool,
) -> None:
    kept = {i: k for i, k in keys.items() if k is not None}
    if everything:
        await session.execute(
            delete(table).where(table.c.user_id == user_id, not_(among(table.c[column], kept)))
        )
    else:
        await session.execute(delete(table).where(among(table.c[column], [i for i in keys if i not in kept])))
    rows = [{column: i, "user_id": user_id, "key": k} for i, k in kept.items()]
    for chunk in batches(rows):
        inserting = insert(table).values(chunk)
        await session.execute(
            inserting.on_conflict_do_update(
                index_elements=[table.c[column]],
                set_={"key": inserting.excluded.key},
                where=table.c.key != inserting.excluded.key,
            )
        )


async def finish(
    session: AsyncSession, user_id: uuid.UUID, generation: int, now: datetime, context: str | None
) -> None:
    """The scores are those of ``generation``: its changes are done with. ``context``: a whole pass's,
    which also answers a refresh asked for."""
    await session.execute(
        delete(CHANGES).where(CHANGES.c.user_id == user_id, CHANGES.c.generation <= generation)
    )
    values: dict[str, Any] = {"scored_at": now}
    if context is not None:
        values |= {"context": context, "whole_pass_due": False}
    inserting = insert(STATE).values(
        user_id=user_id, generation=generation, scored_generation=generation, **values
    )
    await session.execute(
        inserting.on_conflict_do_update(
            index_elements=[STATE.c.user_id],
            set_={
                **values,
                "scored_generation": func.greatest(STATE.c.scored_generation, generation),
                "version": STATE.c.version + 1,
            },
        )
    )
