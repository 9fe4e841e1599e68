"""Applying an onboarding template: the person's first hierarchy, once.

- Every row the template makes has an id derived from the user, the template and its place in the template
  (``uuid5``), and goes through the domains' idempotent create (a client-given id returns the existing row).
- The user's row is locked first, so attempts at the same moment run one after the other: the first creates
  everything and marks onboarding done; the next finds it done.
- Once onboarding is done, applying the same template again creates nothing and returns the pillars of it that
  still exist (a retry, even after some were deleted, never brings them back); any other template is
  refused with CONFLICT: a second template would add three more pillars whose time allocations no longer add
  up to 100.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from aurum.area import service as areas
from aurum.auth.model import User
from aurum.db import UnitOfWork
from aurum.errors import Conflict, NotFound
from aurum.onboarding.templates import TEMPLATES, AreaSpec, PillarSpec, TaskSpec, Template
from aurum.pillar import service as pillars
from aurum.pillar.model import Pillar
from aurum.project import service as projects
from aurum.task import service as tasks

NAMESPACE = uuid.UUID("5d1f3c2e-8a4b-5e7f-9c1d-0a6b2e4f8c13")
FIELD = ["input", "template"]


@dataclass
class Applied:
    """The user after onboarding, the template's pillars, and whether this call created them."""

    user: User
    pillars: list[Pillar]
    created: bool


def row_id(user_id: uuid.UUID, template: Template, path: str) -> uuid.UUID:
    """The id of this user's row at ``path`` ('p0', 'p0/a1', 'p0/a1/j', 'p0/a1/j/t2') of ``template``."""
    return uuid.uuid5(NAMESPACE, f"{user_id}/{template.value}/{path}")


@dataclass(frozen=True)
class Path:
    """Where a row sits in a template, for its deterministic id."""

    user_id: uuid.UUID
    template: Template
    path: str

    def child(self, step: str) -> Path:
        return Path(self.user_id, self.template, f"{self.path}/{step}")

    @property
    def id(self) -> uuid.UUID:
        return row_id(self.user_id, self.template, self.path)


async def apply(uow: UnitOfWork, template: Template) -> Applied:
    user = await _lock_user(uow)
    specs = TEMPLATES[template]
    paths = [Path(user.id, template, f"p{order}") for order in range(len(specs))]
    if user.onboarding_completed:
        existing = await _pillars(uow, [path.id for path in paths])
        if not existing:
            raise Conflict(
                "Onboarding is already done: a template is applied only once; add pillars with pillarCreate",
                FIELD,
            )
        return Applied(user, existing, created=False)
    today = datetime.now(ZoneInfo(user.timezone)).date()
    first = await _next_sort_order(uow)
    try:
        made = [
            await _create_pillar(uow, spec, first + order, path, today)
            for order, (spec, path) in enumerate(zip(specs, paths, strict=True))
        ]
    except Conflict:  # an id of the template is taken by a row the viewer cannot see: nothing is kept
        raise Conflict(
            "This template could not be applied: one of its rows collides with another one"
        ) from None
    user.onboarding_completed = True
    user.version += 1
    user.updated_at = datetime.now(UTC)
    await uow.session.flush()
    return Applied(user, made, created=True)


async def _lock_user(uow: UnitOfWork) -> User:
    user = await uow.session.scalar(
        select(User).where(User.id == uow.user_id).with_for_update(),
        execution_options={"populate_existing": True},
    )
    if user is None:
        raise NotFound("This account no longer exists")
    return user


async def _pillars(uow: UnitOfWork, ids: list[uuid.UUID]) -> list[Pillar]:
    found = await uow.session.scalars(select(Pillar).where(Pillar.id.in_(ids), Pillar.user_id == uow.user_id))
    return sorted(found, key=lambda p: ids.index(p.id))


async def _next_sort_order(uow: UnitOfWork) -> int:
    """Template pillars go after the ones the person may already have made."""
    last = await uow.session.scalar(select(func.max(Pillar.sort_order)).where(Pillar.user_id == uow.user_id))
    return 0 if last is None else int(last) + 1


async def _create_pillar(uow: UnitOfWork, spec: PillarSpec, order: int, path: Path, today: date) -> Pillar:
    values = {
        "name": spec.name,
        "description": spec.description,
        "icon": spec.icon,
        "color": spec.color,
        "time_allocation": spec.time_allocation,
        "vision_statement": spec.vision_statement,
        "sort_order": order,
    }
    pillar = await pillars.create(uow, values, path.id)
    for area_order, area in enumerate(spec.areas):
        await _create_area(uow, area, pillar, area_order, path.child(f"a{area_order}"), today)
    return pillar


async def _create_area(
    uow: UnitOfWork, spec: AreaSpec, pillar: Pillar, order: int, path: Path, today: date
) -> None:
    values = {
        "name": spec.name,
        "description": spec.description,
        "icon": spec.icon,
        "color": pillar.color,
        "importance": spec.importance,
        "sort_order": order,
    }
    area = await areas.create(uow, pillar.id, values, path.id)
    project_spec = spec.project
    project_path = path.child("j")
    project_values: dict[str, Any] = {
        "name": project_spec.name,
        "description": project_spec.description,
        "icon": spec.icon,
        "status": project_spec.status,
        "priority": project_spec.priority,
        "importance": project_spec.importance,
        "deadline": _day(today, project_spec.deadline),
        "sort_order": 0,
    }
    project = await projects.create(uow, area.id, project_values, project_path.id)
    for task_order, task in enumerate(project_spec.tasks):
        await tasks.create(
            uow, project.id, _task_values(task, task_order, today), project_path.child(f"t{task_order}").id
        )


def _task_values(spec: TaskSpec, order: int, today: date) -> dict[str, Any]:
    return {
        "name": spec.name,
        "priority": spec.priority,
        "estimated_minutes": spec.minutes,
        "energy": spec.energy,
        "category": spec.category,
        "due_date": _day(today, spec.due),
        "sort_order": order,
    }


def _day(today: date, offset: int | None) -> date | None:
    return today + timedelta(days=offset) if offset is not None else None
