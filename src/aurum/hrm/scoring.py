"""Priority scores, kept current: computed for all of a person's open tasks by a job, whenever anything they
depend on changed (a trigger raises ``hrm_score_state.generation``), and every hour for the passage of time.

After a write commits, ``request_rescore`` queues the job; a sweep every minute queues it for anyone whose
scores are still behind (a crash between commit and queueing, Redis away). The job computes from a read and
writes only the scores that changed, unless a job for newer data wrote first; the change log carries them to
subscribers that ask for PRIORITY_SCORE changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.db import Actor, read_session, unit_of_work
from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.gather import gather, preferences_of
from aurum.hrm.model import ScoreState, TaskScore
from aurum.hrm.rules import EVALUATORS, score_task
from aurum.hrm.store import expire_orphans
from aurum.hrm.weights import definitions, rule_weights
from aurum.models import table_of
from aurum.project.model import UNDER_WAY_STATUSES
from aurum.resources import Resources
from aurum.task.model import Task

log = structlog.get_logger(__name__)

SCORES = table_of(TaskScore)
TASKS = table_of(Task)
STATE = table_of(ScoreState)
RESCORE = "rescore_user"
SWEEP_LIMIT = 500


async def snapshot_and_rules(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, only: Collection[uuid.UUID] | None = None
) -> tuple[Snapshot, dict[str, Any]]:
    """The person's snapshot and their scoring rules with effective weights."""
    weights = await rule_weights(session, user_id)
    overrides = {w.rule.code: w.override for w in weights if w.override is not None}
    preferences = await preferences_of(session, user_id, overrides)
    snapshot = await gather(session, user_id, now, preferences, only=only)
    scoring = {code: rule for code, rule in definitions(weights).items() if code in EVALUATORS}
    return snapshot, scoring


def compute(
    snapshot: Snapshot, scoring: dict[str, Any], now: datetime, tasks: Collection[TaskFacts] | None = None
) -> dict[uuid.UUID, Score]:
    """The scores of ``tasks``, by default every open task of the snapshot."""
    chosen = snapshot.open_tasks() if tasks is None else tasks
    return {task.id: score_task(snapshot, task, scoring, now) for task in chosen}


def score_of(row: Any) -> Score:
    return Score(row.value, tuple(Factor.from_json(f) for f in row.factors), row.computed_at)


async def stored_scores(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Score]:
    rows = (await session.execute(select(SCORES).where(SCORES.c.task_id.in_(list(ids))))).all()
    return {row.task_id: score_of(row) for row in rows}


async def fresh_scores(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Score]:
    """Scores computed now for open tasks the job has not scored yet (just created, say)."""
    now = datetime.now(UTC)
    snapshot, scoring = await snapshot_and_rules(session, user_id, now, only=ids)
    return {i: s for i, s in compute(snapshot, scoring, now).items() if i in ids}


async def is_stale(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether something the person's scores depend on changed since the job last scored them."""
    state = (await session.execute(select(STATE).where(STATE.c.user_id == user_id))).first()
    return state is not None and state.generation > state.scored_generation


async def current_scores(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Score]:
    """The open tasks' scores as of now: stored ones while they are current, else (until the job catches up
    after a change, or for a task it has not scored yet) computed here, so a reader sees their own writes."""
    found = {} if await is_stale(session, user_id) else await stored_scores(session, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        found.update(await fresh_scores(session, user_id, missing))
    return found


async def top_scores(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[tuple[uuid.UUID, Score]]:
    """The person's highest scoring open tasks of projects under way, below nothing archived."""
    if await is_stale(session, user_id):
        now = datetime.now(UTC)
        snapshot, scoring = await snapshot_and_rules(session, user_id, now)
        under_way = [t for t in snapshot.open_tasks() if snapshot.is_under_way(t)]
        scores = compute(snapshot, scoring, now, under_way)
        return sorted(scores.items(), key=lambda item: (-item[1].value, str(item[0])))[:limit]
    rows = (
        await session.execute(
            RANKING, {"user_id": user_id, "limit": limit, "under_way": list(UNDER_WAY_STATUSES)}
        )
    ).all()
    return [(row.task_id, score_of(row)) for row in rows]


RANKING = text(
    """SELECT s.task_id, s.value, s.factors, s.computed_at FROM task_scores s
         JOIN tasks t ON t.id = s.task_id JOIN projects p ON p.id = t.project_id
         JOIN areas a ON a.id = p.area_id JOIN pillars l ON l.id = a.pillar_id
        WHERE s.user_id = :user_id AND t.status NOT IN ('completed', 'skipped')
          AND p.status = ANY(:under_way) AND NOT (p.archived OR a.archived OR l.archived)
        ORDER BY s.value DESC, s.task_id::text LIMIT :limit"""
)


async def save_scores(session: AsyncSession, user_id: uuid.UUID, scores: dict[uuid.UUID, Score]) -> int:
    """Write the scores that changed; drop those of tasks no longer open. Returns how many changed."""
    await session.execute(
        delete(SCORES).where(SCORES.c.user_id == user_id, SCORES.c.task_id.not_in(list(scores)))
    )
    # Scores were computed from an earlier read: a task deleted since has none to write. (This transaction
    # holds the user's lock, so no delete can come between this read and the write.)
    existing = set(await session.scalars(select(TASKS.c.id).where(TASKS.c.id.in_(list(scores)))))
    scores = {i: s for i, s in scores.items() if i in existing}
    if not scores:
        return 0
    rows = [
        {
            "task_id": i,
            "user_id": user_id,
            "value": s.value,
            "factors": s.factors_json(),
            "computed_at": s.computed_at,
        }
        for i, s in scores.items()
    ]
    inserting = insert(SCORES).values(rows)
    excluded = inserting.excluded
    statement = inserting.on_conflict_do_update(
        index_elements=[SCORES.c.task_id],
        set_={
            "value": excluded.value,
            "factors": excluded.factors,
            "computed_at": excluded.computed_at,
            "version": SCORES.c.version + 1,
        },
        where=(SCORES.c.value != excluded.value) | (SCORES.c.factors != excluded.factors),
    ).returning(SCORES.c.task_id)
    return len((await session.execute(statement)).all())


async def rescore(resources: Resources, user_id: uuid.UUID, *, force: bool = False) -> int | None:
    """Bring one person's scores up to date. Without ``force``, nothing happens when they are current.
    Returns the number of scores that changed (None when there was nothing to do).

    Computed from a read (the user's writers are not held up meanwhile), then written in a short transaction
    that first checks no job has scored a newer generation of the data in between."""
    now = datetime.now(UTC)
    async with read_session(resources.sessionmaker, user_id) as session:
        state = (await session.execute(select(STATE).where(STATE.c.user_id == user_id))).first()
        generation = state.generation if state else 0
        if not force and state is not None and state.scored_generation >= generation:
            return None
        snapshot, scoring = await snapshot_and_rules(session, user_id, now)
    scores = compute(snapshot, scoring, now)
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        scored = await uow.session.scalar(select(STATE.c.scored_generation).where(STATE.c.user_id == user_id))
        if scored is not None and scored > generation:
            return None  # a later job wrote scores of newer data
        changed = await save_scores(uow.session, user_id, scores)
        # Deleting a task, project, area or pillar makes the scores stale, so this job follows every deletion:
        # the insights about what was deleted end here (the services that delete know nothing of insights).
        await expire_orphans(uow.session, user_id, now)
        await uow.session.execute(
            insert(STATE)
            .values(user_id=user_id, generation=generation, scored_generation=generation, scored_at=now)
            .on_conflict_do_update(
                index_elements=[STATE.c.user_id],
                set_={
                    "scored_generation": func.greatest(STATE.c.scored_generation, generation),
                    "scored_at": now,
                },
            )
        )
    resources.announce(user_id)
    return changed


async def rescore_user(ctx: dict[str, Any], user_id: str, force: bool = False) -> int | None:
    """The job: ``rescore`` for one person."""
    changed = await rescore(ctx["resources"], uuid.UUID(user_id), force=force)
    if changed:
        log.info("scores recomputed", changed=changed)
    return changed


async def request_rescore(resources: Resources, user_id: uuid.UUID, generation: int) -> None:
    """Queue the job for this generation of the person's data (queued once however often asked)."""
    await resources.jobs.enqueue(RESCORE, str(user_id), job_id=f"rescore:{user_id}:{generation}")


async def sweep_scores(ctx: dict[str, Any]) -> int:
    """Every minute: queue the job for everyone whose scores are behind their data."""
    resources: Resources = ctx["resources"]
    async with resources.sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                select(func.aurum_stale_score_users(SWEEP_LIMIT).table_valued("user_id", "generation"))
            )
        ).all()
    for row in rows:
        await request_rescore(resources, row.user_id, row.generation)
    return len(rows)


async def refresh_scores(ctx: dict[str, Any]) -> int:
    """Hourly: urgency, energy and age move with the clock; recompute everyone with open tasks."""
    resources: Resources = ctx["resources"]
    hour = datetime.now(UTC).strftime("%Y%m%d%H")
    async with resources.sessionmaker() as session, session.begin():
        users = (await session.scalars(select(func.aurum_open_task_users().table_valued("user_id")))).all()
    for user_id in users:
        await resources.jobs.enqueue(RESCORE, str(user_id), True, job_id=f"rescore:{user_id}:hour:{hour}")
    return len(users)
