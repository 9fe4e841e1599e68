"""Priority scores over GraphQL: ``Task.score``, ``today`` and ordering tasks by score."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import ColumnElement, Select, func, select
from strawberry import Info

from aurum.area.model import Area
from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.hrm.factors import Factor, Score
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.insights import coaching
from aurum.hrm.observing import due_phrase
from aurum.hrm.preferences import Preferences
from aurum.hrm.scoring import SCORES, current_scores, top_scores
from aurum.models import readable, table_of
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import CLOSED_STATUSES, TaskDependency
from aurum.task.model import Task as TaskModel

if TYPE_CHECKING:
    from aurum.task.graphql import Task

TASKS = table_of(TaskModel)
DEPENDENCIES = table_of(TaskDependency)
PROJECTS = table_of(Project)
AREAS = table_of(Area)
PILLARS = table_of(Pillar)
MAX_TODAY = 50


@strawberry.type(description="One rule's part in a priority score.")
class ScoreFactor:
    rule_code: str = strawberry.field(description="The rule (see hrmRules).")
    label: str = strawberry.field(description="The rule's name.")
    weight: float = strawberry.field(description="The viewer's effective weight for the rule, 0–1.")
    score: float = strawberry.field(description="How the rule rates the task, 0–1.")
    contribution: float = strawberry.field(
        description="Points of the 0–100 value it gives: weight × score ÷ Σ weights × 100."
    )
    reason: str = strawberry.field(description="Why, in one line.")

    @classmethod
    def of(cls, factor: Factor) -> ScoreFactor:
        return cls(
            rule_code=factor.rule_code,
            label=factor.label,
            weight=factor.weight,
            score=factor.score,
            contribution=factor.contribution,
            reason=factor.reason,
        )


@strawberry.type(description="How much a task matters now, 0–100, and why.")
class PriorityScore:
    value: float = strawberry.field(description="0–100: 100 × Σ(weight × score) ÷ Σ weights.")
    factors: list[ScoreFactor] = strawberry.field(description="The rules behind it, largest part first.")
    computed_at: datetime = strawberry.field(description="When it was computed.")

    @classmethod
    def of(cls, score: Score) -> PriorityScore:
        return cls(
            value=score.value,
            factors=[ScoreFactor.of(f) for f in score.factors],
            computed_at=score.computed_at,
        )


def closed_score(completed_at: datetime | None) -> Score:
    """A completed or skipped task has nothing left to prioritise."""
    return Score(0.0, (), completed_at or datetime.now(UTC))


async def task_score(
    info: Info[Context, None], task_id: uuid.UUID, status: str, closed_at: datetime | None
) -> PriorityScore:
    """The task's score as of now (see ``current_scores``); one batch for all tasks of the query."""
    ctx = info.context
    user_id = ctx.user_id

    async def batch(ids: Sequence[uuid.UUID]) -> list[Score]:
        async with ctx.reading() as session:
            found = await current_scores(session, user_id, ids)
        return [found.get(i) or closed_score(None) for i in ids]

    if status in CLOSED_STATUSES:
        return PriorityScore.of(closed_score(closed_at))
    score: Score = await ctx.loader("scores", batch).load(task_id)
    return PriorityScore.of(score)


SCORE_VALUE: ColumnElement[Any] = func.coalesce(
    select(SCORES.c.value).where(SCORES.c.task_id == TASKS.c.id).scalar_subquery(), -1.0
)
"""A task's stored score for ordering lists (closed and not yet scored tasks: -1, last)."""


@strawberry.type(description="A task worth doing today, with why.")
class TodayItem:
    task: Annotated[Task, strawberry.lazy("aurum.task.graphql")] = strawberry.field(description="The task.")
    score: PriorityScore = strawberry.field(description="Its priority score and factors.")
    coaching: str | None = strawberry.field(
        description="One line linking it to its project, area and pillar (null when the viewer turned "
        "reasoning off in hrmPreferences)."
    )


def coaching_of(row: Any, score: Score, now: datetime, zone: ZoneInfo) -> str:
    """The coaching line of a ranked task, from its row and the names of its project, area and pillar."""
    facts = TaskFacts(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        status=row.status,
        priority=row.priority,
        created_at=row.created_at,
        due_date=row.due_date,
        due_time=row.due_time,
    )
    due = due_phrase(Snapshot(now=now, zone=zone, preferences=Preferences()), facts)
    return coaching((row.project_name, row.area_name, row.pillar_name), due, score)


PRIORITY_ORDER = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
LOOK_AHEAD = 3  # candidates read per place asked for: some cannot start, some are parents of others


def meaning(row: Any, score: Score) -> tuple[Any, ...]:
    """Most important first; ties broken by meaning (sooner due, higher priority, older), never by id."""
    return (-score.value, row.due_date or date.max, PRIORITY_ORDER.get(row.priority, 2), row.created_at)


async def _held_back(session: Any, ids: Sequence[uuid.UUID]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Of these tasks: those waiting for an open task, and those with an open subtask."""
    waiting = select(DEPENDENCIES.c.task_id).join(TASKS, TASKS.c.id == DEPENDENCIES.c.depends_on_id)
    waiting = waiting.where(DEPENDENCIES.c.task_id.in_(ids), TASKS.c.status.not_in(CLOSED_STATUSES))
    parents = select(TASKS.c.parent_id).where(
        TASKS.c.parent_id.in_(ids), TASKS.c.status.not_in(CLOSED_STATUSES)
    )
    blocked = set((await session.execute(waiting)).scalars())
    return blocked, set((await session.execute(parents)).scalars())


def _later(row: Any, now: datetime, today: date) -> bool:
    """Not to be started yet: its start day is ahead, or it is snoozed."""
    return (row.start_date is not None and row.start_date > today) or (
        row.defer_until is not None and row.defer_until > now
    )


async def ranked_items(info: Info[Context, None], limit: int, *, waiting: bool) -> list[TodayItem]:
    """Today's tasks that can start now (``waiting``: those that wait for open work), most important first;
    a parent whose subtasks are open is done through them, so it is not listed beside them."""
    from aurum.hrm.gather import preferences_of
    from aurum.task.graphql import Task

    if not 1 <= limit <= MAX_TODAY:
        raise InvalidInput(f"'limit' must be between 1 and {MAX_TODAY}", ["limit"])
    ctx = info.context
    now, zone = datetime.now(UTC), await ctx.timezone()
    async with ctx.reading() as session:
        ranked = dict(await top_scores(session, ctx.user_id, min(500, LOOK_AHEAD * limit + 20)))
        rows = {row.id: row for row in (await session.execute(_with_names(list(ranked)))).all()}
        blocked, parents = await _held_back(session, list(rows))
        explain = (await preferences_of(session, ctx.user_id, {})).show_reasoning
    today = now.astimezone(zone).date()
    chosen = [
        task_id
        for task_id in rows
        if task_id not in parents
        and (task_id in blocked) == waiting
        and not _later(rows[task_id], now, today)
    ]
    chosen.sort(key=lambda task_id: meaning(rows[task_id], ranked[task_id]))
    return [
        TodayItem(
            task=Task.from_row(rows[task_id]),
            score=PriorityScore.of(ranked[task_id]),
            coaching=coaching_of(rows[task_id], ranked[task_id], now, zone) if explain else None,
        )
        for task_id in chosen[:limit]
    ]


def _with_names(ids: list[uuid.UUID]) -> Select[Any]:
    return (
        select(
            *readable(TASKS),
            PROJECTS.c.name.label("project_name"),
            AREAS.c.name.label("area_name"),
            PILLARS.c.name.label("pillar_name"),
        )
        .join(PROJECTS, PROJECTS.c.id == TASKS.c.project_id)
        .join(AREAS, AREAS.c.id == PROJECTS.c.area_id)
        .join(PILLARS, PILLARS.c.id == AREAS.c.pillar_id)
        .where(TASKS.c.id.in_(ids))
    )


@strawberry.type
class ScoreQuery:
    @strawberry.field(
        description="The viewer's open tasks that matter most now and can start now, by priority score "
        "(ties: sooner due, higher priority, older), with the factors behind each and a line of coaching. "
        "Tasks waiting for open tasks (see todayWaiting), parents of open subtasks, tasks of projects on "
        "hold, completed or cancelled, and of anything archived, are left out."
    )
    async def today(
        self,
        info: Info[Context, None],
        limit: Annotated[int, strawberry.argument(description=f"How many, 1–{MAX_TODAY}.")] = 5,
    ) -> list[TodayItem]:
        return await ranked_items(info, limit, waiting=False)

    @strawberry.field(
        description="The viewer's important tasks that cannot start yet because they wait for open tasks "
        "(see Task.blockedBy), most important first: kept apart from today, which lists only what can start."
    )
    async def today_waiting(
        self,
        info: Info[Context, None],
        limit: Annotated[int, strawberry.argument(description=f"How many, 1–{MAX_TODAY}.")] = 5,
    ) -> list[TodayItem]:
        return await ranked_items(info, limit, waiting=True)
