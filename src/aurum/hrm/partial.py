"""The parts of a person's snapshot that scoring some of their tasks needs, read without touching the rest.

A task's score reads its own facts, its project's (counts of that project's tasks), its area's and pillar's,
every pillar's time allocation and the recent effort per pillar (``aurum.hrm.rules``). So scoring a few
tasks reads: the pillars, areas and projects (rows, no tasks: a hierarchy is small next to its tasks), the
effort (one aggregate over the recent completions, indexed), the counts of the projects concerned and the
tasks themselves. Built from the same pieces as ``gather``, so a partial snapshot agrees with the whole one
on everything it holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.hrm.facts import SETUP_SECONDS, AreaFacts, PillarEffort, PillarFacts, Snapshot, TaskFacts
from aurum.hrm.gather import AREAS, EFFORT_DAYS, PILLARS, PROJECTS, TASKS, project_facts, task_of, tasks_by_id


@dataclass(frozen=True)
class Hierarchy:
    """Every pillar, area and project of a person, archived or not, as far as scoring needs them."""

    pillars: dict[uuid.UUID, PillarFacts]  # those not archived
    areas: dict[uuid.UUID, AreaFacts]  # those not archived, below a pillar that is not
    area_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # every project's area
    pillar_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # every area's pillar
    live: frozenset[uuid.UUID] = frozenset()  # the projects whose open tasks have scores

    def projects_below(
        self, *, areas: Collection[uuid.UUID] = (), pillars: Collection[uuid.UUID] = ()
    ) -> set[uuid.UUID]:
        """The projects (archived or not) in these areas or below these pillars."""
        below = set(pillars)
        wanted_areas = set(areas) | {a for a, p in self.pillar_of.items() if p in below}
        return {project for project, area in self.area_of.items() if area in wanted_areas}

    def pillar_of_project(self, project_id: uuid.UUID) -> uuid.UUID | None:
        area = self.area_of.get(project_id)
        return self.pillar_of.get(area) if area is not None else None


async def hierarchy(session: AsyncSession, user_id: uuid.UUID) -> Hierarchy:
    """The person's pillars, areas and projects: three reads of their rows, none of their tasks."""
    pillar_rows = (await session.execute(select(PILLARS).where(PILLARS.c.user_id == user_id))).all()
    pillars = {
        row.id: PillarFacts(
            row.id, row.name, row.time_allocation, row.vision_statement, False, row.description
        )
        for row in pillar_rows
        if not row.archived
    }
    area_rows = (await session.execute(select(AREAS).where(AREAS.c.user_id == user_id))).all()
    areas = {
        row.id: AreaFacts(row.id, row.pillar_id, row.name, row.importance, False, row.description)
        for row in area_rows
        if not row.archived and row.pillar_id in pillars
    }
    project_rows = (
        await session.execute(
            select(PROJECTS.c.id, PROJECTS.c.area_id, PROJECTS.c.archived).where(
                PROJECTS.c.user_id == user_id
            )
        )
    ).all()
    return Hierarchy(
        pillars=pillars,
        areas=areas,
        area_of={row.id: row.area_id for row in project_rows},
        pillar_of={row.id: row.pillar_id for row in area_rows},
        live=frozenset(row.id for row in project_rows if not row.archived and row.area_id in areas),
    )


async def effort(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> dict[uuid.UUID, PillarEffort]:
    """Work completed in the recent window per pillar, counting what ``gather`` counts: completed tasks of
    projects not archived, below areas and pillars not archived."""
    statement = (
        select(
            AREAS.c.pillar_id,
            func.count().label("tasks"),
            func.coalesce(func.sum(TASKS.c.estimated_minutes), 0).label("minutes"),
        )
        .select_from(TASKS)
        .join(PROJECTS, PROJECTS.c.id == TASKS.c.project_id)
        .join(AREAS, AREAS.c.id == PROJECTS.c.area_id)
        .join(PILLARS, PILLARS.c.id == AREAS.c.pillar_id)
        .where(
            TASKS.c.user_id == user_id,
            TASKS.c.status == "completed",
            TASKS.c.completed_at >= now - timedelta(days=EFFORT_DAYS),
            TASKS.c.completed_at - TASKS.c.created_at >= timedelta(seconds=SETUP_SECONDS),  # not set-up
            and_(PROJECTS.c.archived.is_(False), AREAS.c.archived.is_(False), PILLARS.c.archived.is_(False)),
        )
        .group_by(AREAS.c.pillar_id)
    )
    return {
        row.pillar_id: PillarEffort(row.pillar_id, int(row.tasks), int(row.minutes))
        for row in (await session.execute(statement)).all()
    }


def snapshot_of(base: Snapshot, hierarchy: Hierarchy, found: dict[uuid.UUID, PillarEffort]) -> Snapshot:
    """A snapshot holding the hierarchy and effort, no projects or tasks yet (``with_projects``,
    ``with_tasks`` add them)."""
    return replace(
        base, pillars=hierarchy.pillars, areas=hierarchy.areas, effort=found, effort_days=EFFORT_DAYS
    )


async def with_projects(
    session: AsyncSession,
    user_id: uuid.UUID,
    snapshot: Snapshot,
    hierarchy: Hierarchy,
    ids: Collection[uuid.UUID],
) -> Snapshot:
    """The snapshot with these projects' facts too (those that have scores; the others stay out, as in
    ``gather``)."""
    wanted = [i for i in ids if i in hierarchy.live and i not in snapshot.projects]
    if not wanted:
        return snapshot
    found = await project_facts(session, user_id, wanted)
    return replace(snapshot, projects={**snapshot.projects, **found})


async def with_tasks(
    session: AsyncSession,
    user_id: uuid.UUID,
    snapshot: Snapshot,
    hierarchy: Hierarchy,
    ids: Collection[uuid.UUID],
) -> tuple[Snapshot, list[TaskFacts]]:
    """The snapshot with these tasks (and their projects); the tasks found, open or not, in any project."""
    if not ids:
        return snapshot, []
    rows = (await session.execute(tasks_by_id(user_id, ids))).all()
    found = [task_of(row) for row in rows]
    snapshot = await with_projects(session, user_id, snapshot, hierarchy, {t.project_id for t in found})
    scored = {t.id: t for t in found if t.is_open and t.project_id in snapshot.projects}
    return replace(snapshot, tasks={**snapshot.tasks, **scored}), found


def scored_tasks(snapshot: Snapshot, ids: Collection[uuid.UUID]) -> list[TaskFacts]:
    """Of these tasks, those that have a score: open, in a project that is not archived (nor above it)."""
    return [snapshot.tasks[i] for i in ids if i in snapshot.tasks and snapshot.tasks[i].is_open]
