"""Writing a pass's scores and the keys they were computed with (``aurum.hrm.ratings``), in batches."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Table, delete, func, not_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.factors import Score
from aurum.hrm.gather import among
from aurum.hrm.model import TaskScore
from aurum.hrm.plan import CHANGES, PILLAR_RATINGS, PROJECT_RATINGS, STATE
from aurum.models import table_of
from aurum.task.model import Task

SCORES = table_of(TaskScore)
TASKS = table_of(Task)
BATCH = 1000  # rows per statement (PostgreSQL takes at most 32,767 parameters in one)
T = TypeVar("T")


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


async def save_scores(
    session: AsyncSession,
    user_id: uuid.UUID,
    scores: Mapping[uuid.UUID, Score],
    drop: Collection[uuid.UUID] | None = None,
) -> int:
    """Write the scores that changed and drop those of ``drop`` (by default: every other task's, as a whole
    pass does). Returns how many changed."""
    if drop is None:
        await session.execute(
            delete(SCORES).where(SCORES.c.user_id == user_id, not_(among(SCORES.c.task_id, scores)))
        )
    elif drop:
        await session.execute(delete(SCORES).where(among(SCORES.c.task_id, drop)))
    # Scores were computed from an earlier read: a task deleted since has none to write. (This transaction
    # holds the user's lock, so no delete can come between this read and the write.)
    existing = set(await session.scalars(select(TASKS.c.id).where(among(TASKS.c.id, scores))))
    rows = [_row(user_id, i, s) for i, s in scores.items() if i in existing]
    changed = 0
    for chunk in batches(rows):
        changed += len((await session.execute(_upsert(chunk))).all())
    return changed


def _row(user_id: uuid.UUID, task_id: uuid.UUID, score: Score) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "user_id": user_id,
        "value": score.value,
        "factors": score.factors_json(),
        "computed_at": score.computed_at,
    }


def _upsert(rows: list[dict[str, Any]]) -> Any:
    inserting = insert(SCORES).values(rows)
    excluded = inserting.excluded
    return inserting.on_conflict_do_update(
        index_elements=[SCORES.c.task_id],
        set_={
            "value": excluded.value,
            "factors": excluded.factors,
            "computed_at": excluded.computed_at,
            "version": SCORES.c.version + 1,
        },
        where=(SCORES.c.value != excluded.value) | (SCORES.c.factors != excluded.factors),
    ).returning(SCORES.c.task_id)


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
