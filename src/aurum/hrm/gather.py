"""One user's ``Snapshot`` from the database: a fixed handful of statements, whatever the number of tasks."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, any_, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, distinct_on
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.area.model import Area
from aurum.auth.model import User
from aurum.hrm.effort import TYPICAL_MINUTES, UNCATEGORISED_MINUTES
from aurum.hrm.facts import (
    AreaFacts,
    PillarEffort,
    PillarFacts,
    ProjectFacts,
    Snapshot,
    TaskFacts,
    history_days,
)
from aurum.hrm.model import HrmFeedback, HrmPreferences
from aurum.hrm.preferences import Preferences
from aurum.models import table_of
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import CLOSED_STATUSES, Task, TaskDependency

USERS = table_of(User)
PILLARS = table_of(Pillar)
AREAS = table_of(Area)
PROJECTS = table_of(Project)
TASKS = table_of(Task)
DEPENDENCIES = table_of(TaskDependency)
PREFERENCES = table_of(HrmPreferences)
FEEDBACK = table_of(HrmFeedback)
EFFORT_DAYS = 30


async def preferences_of(
    session: AsyncSession, user_id: uuid.UUID, overrides: dict[str, float]
) -> Preferences:
    row = (await session.execute(select(PREFERENCES).where(PREFERENCES.c.user_id == user_id))).first()
    return Preferences.of(row, overrides)


async def zone_of(session: AsyncSession, user_id: uuid.UUID) -> ZoneInfo:
    return ZoneInfo(await session.scalar(select(USERS.c.timezone).where(USERS.c.id == user_id)) or "UTC")


async def account_of(session: AsyncSession, user_id: uuid.UUID) -> tuple[ZoneInfo, datetime]:
    """The person's time zone and when they started (their history begins there)."""
    statement = select(USERS.c.timezone, USERS.c.created_at).where(USERS.c.id == user_id)
    row = (await session.execute(statement)).one()
    return ZoneInfo(row.timezone or "UTC"), row.created_at


def among(column: Any, ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """``column = ANY(ids)``: one array parameter, however many ids (an IN list has one each, and a
    statement takes at most 32,767)."""
    return column == any_(bindparam(None, list(ids), type_=ARRAY(PG_UUID(as_uuid=True))))  # type: ignore[no-any-return]


def _typical(category: Any) -> Any:
    """The typical length of a task of this kind, in SQL (``aurum.hrm.effort.TYPICAL_MINUTES``)."""
    return case(TYPICAL_MINUTES, value=category, else_=UNCATEGORISED_MINUTES)


def _dependencies(ids: Collection[uuid.UUID] | None = None) -> Any:
    """Per task (of ``ids``, by default every one): what it waits for, which of those are still open, and
    their effort (estimates, or their kinds' typical lengths)."""
    waited = TASKS.alias("waited")
    statement = (
        select(
            DEPENDENCIES.c.task_id,
            func.array_agg(DEPENDENCIES.c.depends_on_id).label("all_ids"),
            func.array_agg(DEPENDENCIES.c.depends_on_id)
            .filter(waited.c.status.not_in(CLOSED_STATUSES))
            .label("open_ids"),
            func.sum(func.coalesce(waited.c.estimated_minutes, _typical(waited.c.category)))
            .filter(waited.c.status.not_in(CLOSED_STATUSES))
            .label("open_minutes"),
        )
        .join(waited, waited.c.id == DEPENDENCIES.c.depends_on_id)
        .group_by(DEPENDENCIES.c.task_id)
    )
    if ids is not None:
        statement = statement.where(among(DEPENDENCIES.c.task_id, ids))
    return statement.subquery("deps")


def _waiting(ids: Collection[uuid.UUID] | None = None) -> Any:
    """Per task (of ``ids``, by default every one): the priority and due day of each open task waiting for
    it, in a steady order (a rating of what a task unblocks reads them)."""
    dependent = TASKS.alias("dependent")
    ordered = (DEPENDENCIES.c.task_id,)
    statement = (
        select(
            DEPENDENCIES.c.depends_on_id.label("task_id"),
            func.array_agg(aggregate_order_by(dependent.c.priority, *ordered)).label("waiting_priorities"),
            func.array_agg(aggregate_order_by(dependent.c.due_date, *ordered)).label("waiting_dues"),
        )
        .join(dependent, dependent.c.id == DEPENDENCIES.c.task_id)
        .where(dependent.c.status.not_in(CLOSED_STATUSES))
        .group_by(DEPENDENCIES.c.depends_on_id)
    )
    if ids is not None:
        statement = statement.where(among(DEPENDENCIES.c.depends_on_id, ids))
    return statement.subquery("waiting")


def _latest_feedback(ids: Collection[uuid.UUID] | None = None) -> Any:
    statement = (
        select(FEEDBACK.c.task_id, FEEDBACK.c.verdict, FEEDBACK.c.adjusted_score)
        .where(FEEDBACK.c.task_id.is_not(None), FEEDBACK.c.verdict.in_(("correct", "too_high", "too_low")))
        .ext(distinct_on(FEEDBACK.c.task_id))
        .order_by(FEEDBACK.c.task_id, FEEDBACK.c.created_at.desc())
    )
    if ids is not None:
        statement = statement.where(among(FEEDBACK.c.task_id, ids))
    return statement.subquery("feedback")


def tasks_by_id(user_id: uuid.UUID, ids: Collection[uuid.UUID]) -> Select[Any]:
    """These tasks (open or not) with what they wait for and the person's latest verdict on each."""
    deps, feedback, waiting = _dependencies(ids), _latest_feedback(ids), _waiting(ids)
    return (
        select(
            TASKS,
            deps.c.all_ids,
            deps.c.open_ids,
            deps.c.open_minutes,
            feedback.c.verdict.label("feedback"),
            feedback.c.adjusted_score.label("feedback_target"),
            waiting.c.waiting_priorities,
            waiting.c.waiting_dues,
        )
        .outerjoin(deps, deps.c.task_id == TASKS.c.id)
        .outerjoin(feedback, feedback.c.task_id == TASKS.c.id)
        .outerjoin(waiting, waiting.c.task_id == TASKS.c.id)
        .where(TASKS.c.user_id == user_id, among(TASKS.c.id, ids))
    )


def _tasks_statement(user_id: uuid.UUID, since: datetime, only: Collection[uuid.UUID] | None) -> Select[Any]:
    deps, feedback, waiting = _dependencies(), _latest_feedback(), _waiting()
    statement = (
        select(
            TASKS,
            deps.c.all_ids,
            deps.c.open_ids,
            deps.c.open_minutes,
            feedback.c.verdict.label("feedback"),
            feedback.c.adjusted_score.label("feedback_target"),
            waiting.c.waiting_priorities,
            waiting.c.waiting_dues,
        )
        .outerjoin(deps, deps.c.task_id == TASKS.c.id)
        .outerjoin(feedback, feedback.c.task_id == TASKS.c.id)
        .outerjoin(waiting, waiting.c.task_id == TASKS.c.id)
        .join(PROJECTS, PROJECTS.c.id == TASKS.c.project_id)
        .where(
            TASKS.c.user_id == user_id,
            or_(TASKS.c.status.not_in(CLOSED_STATUSES), TASKS.c.completed_at >= since),
        )
    )
    if only is not None:
        # Some tasks' own facts, plus every completed one of the window (the effort the balance rule needs).
        statement = statement.where(or_(TASKS.c.id.in_(list(only)), TASKS.c.completed_at >= since))
    return statement


def task_of(row: Any) -> TaskFacts:
    return TaskFacts(
        id=row.id,
        project_id=row.project_id,
        parent_id=row.parent_id,
        name=row.name,
        description=row.description,
        status=row.status,
        priority=row.priority,
        created_at=row.created_at,
        due_date=row.due_date,
        due_time=row.due_time,
        estimated_minutes=row.estimated_minutes,
        energy=row.energy,
        category=row.category,
        completed_at=row.completed_at,
        dependency_ids=tuple(row.all_ids or ()),
        open_dependency_ids=tuple(i for i in (row.open_ids or ()) if i is not None),
        feedback=row.feedback.upper() if row.feedback else None,
        feedback_target=row.feedback_target,
        start_date=row.start_date,
        defer_until=row.defer_until,
        waiting=tuple(zip(row.waiting_priorities or (), row.waiting_dues or (), strict=True)),
        waited_minutes=int(row.open_minutes or 0),
    )


async def project_facts(
    session: AsyncSession, user_id: uuid.UUID, ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, ProjectFacts]:
    """The person's projects that are not archived (of ``ids``, by default every one), with their tasks
    counted."""
    counted = TASKS.c.status != "skipped"
    totals = (
        select(
            TASKS.c.project_id,
            func.count().filter(counted).label("total"),
            func.count().filter(TASKS.c.status == "completed").label("completed"),
            func.max(TASKS.c.completed_at).label("last_completed_at"),
        )
        .where(TASKS.c.user_id == user_id)
        .group_by(TASKS.c.project_id)
    )
    statement = select(PROJECTS).where(PROJECTS.c.user_id == user_id, PROJECTS.c.archived.is_(False))
    if ids is not None:
        totals = totals.where(among(TASKS.c.project_id, ids))
        statement = statement.where(among(PROJECTS.c.id, ids))
    counts = totals.subquery("totals")
    statement = statement.add_columns(
        counts.c.total, counts.c.completed, counts.c.last_completed_at
    ).outerjoin(counts, counts.c.project_id == PROJECTS.c.id)
    return {
        row.id: ProjectFacts(
            id=row.id,
            area_id=row.area_id,
            name=row.name,
            description=row.description,
            status=row.status,
            priority=row.priority,
            importance=row.importance,
            deadline=row.deadline,
            created_at=row.created_at,
            total_tasks=row.total or 0,
            completed_tasks=row.completed or 0,
            last_completed_at=row.last_completed_at,
        )
        for row in (await session.execute(statement)).all()
    }


async def _hierarchy(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[dict[uuid.UUID, PillarFacts], dict[uuid.UUID, AreaFacts]]:
    pillars = {
        row.id: PillarFacts(
            row.id, row.name, row.time_allocation, row.vision_statement, False, row.description
        )
        for row in (
            await session.execute(
                select(PILLARS).where(PILLARS.c.user_id == user_id, PILLARS.c.archived.is_(False))
            )
        ).all()
    }
    areas = {
        row.id: AreaFacts(row.id, row.pillar_id, row.name, row.importance, False, row.description)
        for row in (
            await session.execute(
                select(AREAS).where(
                    AREAS.c.user_id == user_id,
                    AREAS.c.archived.is_(False),
                    AREAS.c.pillar_id.in_(list(pillars)),
                )
            )
        ).all()
    }
    return pillars, areas


def _effort(
    snapshot_tasks: list[TaskFacts], pillar_of: dict[uuid.UUID, uuid.UUID]
) -> dict[uuid.UUID, PillarEffort]:
    effort: dict[uuid.UUID, PillarEffort] = {}
    for task in snapshot_tasks:
        pillar_id = pillar_of.get(task.project_id)
        if task.status != "completed" or task.is_setup or pillar_id is None:
            continue
        found = effort.get(pillar_id, PillarEffort(pillar_id))
        effort[pillar_id] = PillarEffort(
            pillar_id, found.completed_tasks + 1, found.completed_minutes + (task.estimated_minutes or 0)
        )
    return effort


async def gather(
    session: AsyncSession,
    user_id: uuid.UUID,
    now: datetime,
    preferences: Preferences,
    *,
    only: Collection[uuid.UUID] | None = None,
) -> Snapshot:
    """The user's hierarchy below non-archived pillars, areas and projects; tasks open or completed in the
    last 30 days (``only``: of the open ones, just these)."""
    zone, started = await account_of(session, user_id)
    pillars, areas = await _hierarchy(session, user_id)
    projects = {k: p for k, p in (await project_facts(session, user_id)).items() if p.area_id in areas}
    since = now - timedelta(days=EFFORT_DAYS)
    rows = (await session.execute(_tasks_statement(user_id, since, only))).all()
    tasks = [task_of(row) for row in rows if row.project_id in projects]
    pillar_of = {p.id: areas[p.area_id].pillar_id for p in projects.values()}
    return Snapshot(
        now=now,
        zone=zone,
        preferences=preferences,
        pillars=pillars,
        areas=areas,
        projects=projects,
        tasks={t.id: t for t in tasks},
        effort=_effort(tasks, pillar_of),
        effort_days=EFFORT_DAYS,
        history_days=history_days(now, started),
    )
