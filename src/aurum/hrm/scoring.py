"""Priority scores, kept current: stored for every open task and rescored by a job, after a change, for what
the change can have moved (``aurum.hrm.plan``), and every hour whole, for the passage of time.

A trigger raises ``hrm_score_state.generation`` and notes what changed. After a write commits,
``request_rescore`` queues the job a moment later (``AURUM_RESCORE_DELAY``): writes meanwhile join the job
already waiting, so a burst costs one pass. A sweep every minute queues it for anyone whose scores are still
behind (a crash between commit and queueing, Redis away). The job reads one moment of the data, computes
the scores that may have moved, and writes those that did, unless another pass wrote in between (it then
plans again, or leaves it to a pass of newer data); the change log carries them to subscribers that ask for
PRIORITY_SCORE changes. Until the job catches up, reads compute the scores that may have moved themselves.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aurum.db import Actor, act_as, read_session, unit_of_work
from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.gather import among, gather
from aurum.hrm.partial import scored_tasks, with_tasks
from aurum.hrm.plan import STATE, Pending, Rules, State, pending, read_rules, read_state, scope
from aurum.hrm.ratings import pillar_keys, project_key
from aurum.hrm.rules import score_task
from aurum.hrm.saving import SCORES, finish, save_keys, save_scores
from aurum.hrm.store import expire_orphans
from aurum.project.model import UNDER_WAY_STATUSES
from aurum.resources import Resources

__all__ = [
    "SCORES",
    "Rescored",
    "compute",
    "current_scores",
    "fresh_scores",
    "rescore",
    "save_scores",
    "top_scores",
]

log = structlog.get_logger(__name__)

RESCORE = "rescore_user"
SWEEP_LIMIT = 500
PASS_ATTEMPTS = 3
WAITING = "aurum:rescore-waiting:{}"  # set while a job is queued and not started: writes then join it
WAITING_MARGIN = 10.0  # seconds past the delay before a lost job's mark lapses (the sweep requeues it)
QUEUED_TRUST = 0.5  # of the delay: how long this process takes a job it queued as not started yet
QUEUED_KNOWN = 10_000  # users whose last queued job a process remembers


def clock() -> datetime:
    """Now, for scores (one function, so that tests can hold the clock still)."""
    return datetime.now(UTC)


async def snapshot_and_rules(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, only: Collection[uuid.UUID] | None = None
) -> tuple[Snapshot, dict[str, Any]]:
    """The person's whole snapshot and their scoring rules with effective weights."""
    rules = await read_rules(session, user_id)
    return await gather(session, user_id, now, rules.preferences, only=only), rules.scoring


def compute(
    snapshot: Snapshot, scoring: dict[str, Any], now: datetime, tasks: Collection[TaskFacts] | None = None
) -> dict[uuid.UUID, Score]:
    """The scores of ``tasks``, by default every open task of the snapshot."""
    chosen = snapshot.open_tasks() if tasks is None else tasks
    return {task.id: score_task(snapshot, task, scoring, now) for task in chosen}


def score_of(row: Any) -> Score:
    return Score(row.value, tuple(Factor.from_json(f) for f in row.factors), row.computed_at)


async def stored_scores(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Score]:
    if not ids:
        return {}
    rows = (await session.execute(select(SCORES).where(among(SCORES.c.task_id, ids)))).all()
    return {row.task_id: score_of(row) for row in rows}


# --- reading scores ---


async def _computed(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Score]:
    """These tasks' scores computed now, from their own facts and what lies above them."""
    found = await scope(session, user_id, now, await read_rules(session, user_id))
    return await _score(session, user_id, found, ids, now)


async def _score(
    session: AsyncSession, user_id: uuid.UUID, found: Pending, ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Score]:
    snapshot, _ = await with_tasks(session, user_id, found.snapshot, found.hierarchy, ids)
    return compute(snapshot, found.rules.scoring, now, scored_tasks(snapshot, ids))


async def fresh_scores(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Score]:
    """Scores computed now for these open tasks (those with none have none: closed, or below something
    archived)."""
    return await _computed(session, user_id, ids, clock())


async def current_scores(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Score]:
    """The open tasks' scores as of now: stored ones while they are current; until the job catches up after
    a change, computed here for the tasks the change may have moved, so a reader sees their own writes."""
    wanted = list(dict.fromkeys(ids))
    state, now = await read_state(session, user_id), clock()
    if state is None or state.current:
        found = await stored_scores(session, wanted)
        missing = [i for i in wanted if i not in found]
        return found | (await _computed(session, user_id, missing, now) if missing else {})
    moved = await pending(session, user_id, now, state, await read_rules(session, user_id))
    due = set(wanted) if moved.tasks is None else moved.tasks & set(wanted)
    found = await stored_scores(session, [i for i in wanted if i not in due])
    due |= {i for i in wanted if i not in found}
    return found | await _score(session, user_id, moved, due, now)


RANKING = text(
    """SELECT s.task_id, s.value, s.factors, s.computed_at FROM task_scores s
         JOIN tasks t ON t.id = s.task_id JOIN projects p ON p.id = t.project_id
         JOIN areas a ON a.id = p.area_id JOIN pillars l ON l.id = a.pillar_id
        WHERE s.user_id = :user_id AND t.status NOT IN ('completed', 'skipped')
          AND p.status = ANY(:under_way) AND NOT (p.archived OR a.archived OR l.archived)
          AND NOT (s.task_id = ANY(:computed))
        ORDER BY s.value DESC, s.task_id::text LIMIT :limit"""
).bindparams(bindparam("computed", type_=ARRAY(UUID(as_uuid=True))))


def _ranked(scores: dict[uuid.UUID, Score]) -> list[tuple[uuid.UUID, Score]]:
    return sorted(scores.items(), key=lambda item: (-item[1].value, str(item[0])))


async def top_scores(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[tuple[uuid.UUID, Score]]:
    """The person's highest scoring open tasks of projects under way, below nothing archived: the stored
    ranking, with the scores a change not yet rescored may have moved computed here."""
    state, now = await read_state(session, user_id), clock()
    fresh: dict[uuid.UUID, Score] = {}
    if state is not None and not state.current:
        moved = await pending(session, user_id, now, state, await read_rules(session, user_id))
        if moved.tasks is None:
            snapshot = await gather(session, user_id, now, moved.rules.preferences)
            open_tasks = [t for t in snapshot.open_tasks() if snapshot.is_under_way(t)]
            return _ranked(compute(snapshot, moved.rules.scoring, now, open_tasks))[:limit]
        snapshot, _ = await with_tasks(session, user_id, moved.snapshot, moved.hierarchy, moved.tasks)
        chosen = [t for t in scored_tasks(snapshot, moved.tasks) if snapshot.is_under_way(t)]
        fresh = compute(snapshot, moved.rules.scoring, now, chosen)
    values = {"user_id": user_id, "limit": limit, "under_way": list(UNDER_WAY_STATUSES)}
    rows = (await session.execute(RANKING, {**values, "computed": list(fresh)})).all()
    return _ranked(fresh | {row.task_id: score_of(row) for row in rows})[:limit]


# --- the job ---


@asynccontextmanager
async def one_moment(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """A read-only transaction that sees one moment of the person's data in all its statements (a pass's
    plan, facts and change log must agree with each other)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        await act_as(session, user_id)
        yield session


@dataclass
class Pass:
    """What one pass computes, and from which state of the scores."""

    state: State | None
    rules: Rules
    snapshot: Snapshot
    tasks: list[TaskFacts]  # to score
    examined: frozenset[uuid.UUID] | None  # the tasks whose scores may have moved (None: all)
    project_keys: dict[uuid.UUID, str | None] = field(default_factory=dict)
    pillar_keys: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def whole(self) -> bool:
        return self.examined is None

    @property
    def generation(self) -> int:
        return self.state.generation if self.state else 0


async def _plan(session: AsyncSession, user_id: uuid.UUID, now: datetime, state: State | None) -> Pass:
    rules = await read_rules(session, user_id)
    if state is None or state.whole_pass_due or state.context != rules.context:
        snapshot = await gather(session, user_id, now, rules.preferences)
        projects = {p: project_key(snapshot, p, rules.scoring) for p in snapshot.projects}
        keys = pillar_keys(snapshot, rules.scoring)
        return Pass(state, rules, snapshot, snapshot.open_tasks(), None, dict(projects), keys)
    moved = await pending(session, user_id, now, state, rules)
    assert moved.tasks is not None  # the context is the stored one
    snapshot, _ = await with_tasks(session, user_id, moved.snapshot, moved.hierarchy, moved.tasks)
    tasks = scored_tasks(snapshot, moved.tasks)
    return Pass(state, rules, snapshot, tasks, moved.tasks, moved.project_keys, moved.pillar_keys)


@dataclass(frozen=True)
class Rescored:
    """What a pass did: the scores it computed (whole: every open task's) and how many of them changed."""

    computed: frozenset[uuid.UUID]
    changed: int
    whole: bool


RETRY = "retry"


async def _write(
    resources: Resources, user_id: uuid.UUID, work: Pass, scores: dict[uuid.UUID, Score], now: datetime
) -> Rescored | str | None:
    """Store a pass: the scores that changed, its keys, the state. None: a pass of newer data wrote first;
    RETRY: another pass wrote since this one's plan, which no longer holds."""
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        state = STATE.c.user_id == user_id
        row = (
            await uow.session.execute(select(STATE.c.scored_generation, STATE.c.version).where(state))
        ).first()
        if row is not None and row.scored_generation >= work.generation + (1 if work.whole else 0):
            return None
        if not work.whole and (row is None or work.state is None or row.version != work.state.version):
            return RETRY
        drop = None if work.examined is None else work.examined - scores.keys()
        changed = await save_scores(uow.session, user_id, scores, drop)
        await save_keys(uow.session, user_id, work.project_keys, work.pillar_keys, whole=work.whole)
        # Deleting a task, project, area or pillar makes the scores stale, so this job follows every deletion:
        # the insights about what was deleted end here (the services that delete know nothing of insights).
        await expire_orphans(uow.session, user_id, now)
        await finish(uow.session, user_id, work.generation, now, work.rules.context if work.whole else None)
    resources.announce(user_id)
    return Rescored(frozenset(scores), changed, work.whole)


ALONE = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 4343))")
LET_GO = text("SELECT pg_advisory_unlock(hashtextextended(:key, 4343))")


@asynccontextmanager
async def alone(resources: Resources, user_id: uuid.UUID) -> AsyncIterator[bool]:
    """Whether no other pass of the person's scores is under way; if none, none starts until the block ends.
    A session lock of PostgreSQL (not the writers' lock: writers go on meanwhile), on a connection of its
    own: a worker that dies lets go of it with its connection."""
    async with resources.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        only = bool(await connection.scalar(ALONE, {"key": str(user_id)}))
        try:
            yield only
        finally:
            if only:
                await connection.execute(LET_GO, {"key": str(user_id)})


async def one_pass(resources: Resources, user_id: uuid.UUID) -> Rescored | str | None:
    """One pass, if one is due: its outcome (see ``_write``); None when none was due. Callers hold
    ``alone``."""
    now = clock()
    async with one_moment(resources.sessionmaker, user_id) as session:
        state = await read_state(session, user_id)
        if state is not None and not state.due:
            return None
        work = await _plan(session, user_id, now, state)
    scores = compute(work.snapshot, work.rules.scoring, now, work.tasks)
    return await _write(resources, user_id, work, scores, now)


async def rescore(resources: Resources, user_id: uuid.UUID, *, force: bool = False) -> Rescored | None:
    """Bring one person's scores up to date; ``force``: all of them (the hourly refresh). None when there
    was nothing to do, or another pass did it.

    One pass at a time per person. Each computes from a read (the person's writers are not held up
    meanwhile), then writes in a short transaction that first checks what was written in between."""
    with contextlib.suppress(RedisError, OSError):
        await resources.redis.delete(WAITING.format(user_id))  # writes from now on queue a job of their own
    if force:
        await _ask_for_whole_pass(resources, user_id)
    done: Rescored | str | None = None
    for _ in range(PASS_ATTEMPTS):
        async with alone(resources, user_id) as only:
            if not only:
                return None  # the pass under way looks again when it is done
            done = await one_pass(resources, user_id)
        if done != RETRY:
            break
    # Looked at again once this pass let go: a job that found it under way left its change to it.
    async with read_session(resources.sessionmaker, user_id) as session:
        state = await read_state(session, user_id)
    if state is not None and state.due:
        await request_rescore(resources, user_id, state.generation)
    return done if isinstance(done, Rescored) else None


async def _ask_for_whole_pass(resources: Resources, user_id: uuid.UUID) -> None:
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        inserting = insert(STATE).values(user_id=user_id, whole_pass_due=True)
        await uow.session.execute(
            inserting.on_conflict_do_update(index_elements=[STATE.c.user_id], set_={"whole_pass_due": True})
        )


async def rescore_user(ctx: dict[str, Any], user_id: str, force: bool = False) -> int | None:
    """The job: ``rescore`` for one person."""
    done = await rescore(ctx["resources"], uuid.UUID(user_id), force=force)
    if done is not None and done.changed:
        log.info("scores recomputed", computed=len(done.computed), changed=done.changed, whole=done.whole)
    return done.changed if done is not None else None


async def request_rescore(
    resources: Resources, user_id: uuid.UUID, generation: int, *, join: bool = True
) -> None:
    """Queue the job for this generation of the person's data, to start after ``AURUM_RESCORE_DELAY``;
    ``join``: not when a job queued earlier has not started yet (it will see this change)."""
    delay = resources.settings.rescore_delay
    queued = resources.rescores_queued
    if join:
        if time.monotonic() < queued.get(user_id, 0.0):
            return  # a job this process queued a moment ago has not started: it will see this change
        lapse = int((delay + WAITING_MARGIN) * 1000)
        if not await resources.redis.set(WAITING.format(user_id), generation, nx=True, px=lapse):
            return
    started = time.monotonic()
    job_id = f"rescore:{user_id}:{generation}"
    if not await resources.jobs.enqueue(RESCORE, str(user_id), job_id=job_id, defer=delay) and join:
        # That job is queued by the sweep, or under way and may have read before this change: one more.
        await resources.jobs.enqueue(RESCORE, str(user_id), defer=delay)
    if join:
        if len(queued) > QUEUED_KNOWN:
            queued.clear()
        # Deferred by the delay, it starts no sooner (half of it left for clocks a little apart): writes
        # until then join it without asking Redis.
        queued[user_id] = started + delay * QUEUED_TRUST


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
        await request_rescore(resources, row.user_id, row.generation, join=False)
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
