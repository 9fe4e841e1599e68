"""Projects over GraphQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import ColumnElement, exists
from strawberry import Info

from aurum.area.graphql import Area, area_by_id
from aurum.area.model import Area as AreaModel
from aurum.graphql import loaders
from aurum.graphql.context import Context
from aurum.graphql.mutations import archive_mutation, delete_mutation, optional_id, provided, run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.ordering import OrderField, ordering
from aurum.graphql.relations import page_of_children, page_of_list, row_by_id
from aurum.graphql.types import (
    After,
    Before,
    Connection,
    DeletePayload,
    Filter,
    First,
    IdInput,
    Input,
    Last,
    Node,
    OrderBy,
    OrderDirection,
    UserError,
)
from aurum.ids import decode_id, to_global_id
from aurum.models import table_of
from aurum.pagination import PageArgs
from aurum.pillar.graphql import name_search
from aurum.pillar.model import Pillar as PillarModel
from aurum.project import service
from aurum.project.model import Project as ProjectModel

if TYPE_CHECKING:
    from aurum.task.graphql import Task
    from aurum.task.listing import TaskFilter, TaskOrder

TABLE = table_of(ProjectModel)
AREAS = table_of(AreaModel)
PILLARS = table_of(PillarModel)
TaskT = Annotated["Task", strawberry.lazy("aurum.task.graphql")]
TaskFilterT = Annotated["TaskFilter", strawberry.lazy("aurum.task.listing")]
TaskOrderT = Annotated["TaskOrder", strawberry.lazy("aurum.task.listing")]


@strawberry.enum(description="Where a project stands.")
class ProjectStatus(Enum):
    PLANNING = "planning"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.enum(description="How pressing something is, as the person judges it.")
class Priority(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


@strawberry.type(description="A monthly outcome inside an area, made of tasks.")
class Project(Node):
    uuid: strawberry.Private[UUID]
    area_uuid: strawberry.Private[UUID]
    name: str = strawberry.field(description="The project's name, 1–200 characters.")
    description: str | None = strawberry.field(description="Free text about the project.")
    icon: str | None = strawberry.field(description="An icon name or emoji.")
    status: ProjectStatus = strawberry.field(description="Where the project stands.")
    priority: Priority = strawberry.field(description="How pressing it is.")
    importance: int = strawberry.field(description="1 (low) to 5 (high).")
    deadline: date | None = strawberry.field(description="When it should be done.")
    sort_order: int = strawberry.field(description="Position among its siblings.")
    archived: bool = strawberry.field(description="Archived projects are left out of default lists.")
    version: int = strawberry.field(description="Increases with every change; pass as expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Project:
        return cls(
            id=strawberry.ID(to_global_id("Project", row.id)),
            uuid=row.id,
            area_uuid=row.area_id,
            name=row.name,
            description=row.description,
            icon=row.icon,
            status=ProjectStatus(row.status),
            priority=Priority(row.priority),
            importance=row.importance,
            deadline=row.deadline,
            sort_order=row.sort_order,
            archived=row.archived,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The area this project belongs to.")
    async def area(self, info: Info[Context, None]) -> Area:
        area = await area_by_id(info, self.area_uuid)
        assert area is not None
        return area

    @strawberry.field(
        description="The project's top-level tasks (subtasks hang below them, in Task.subtasks); with "
        "filter topLevel: false, its subtasks instead."
    )
    async def tasks(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[TaskFilterT] = None,
        order_by: OrderBy[TaskOrderT] = None,
    ) -> Connection[TaskT]:
        from aurum.task.graphql import tasks_of_project

        return await tasks_of_project(info, self.uuid, PageArgs(first, after, last, before), filter, order_by)

    @strawberry.field(description="Completed ÷ all tasks of this project, 0 to 100.")
    async def completion_percent(self, info: Info[Context, None]) -> float:
        return (await loaders.progress(info, "project", self.uuid)).percent


@strawberry.input(description="Which projects to list.")
class ProjectFilter:
    area_id: strawberry.ID | None = strawberry.field(default=None, description="Only projects of this area.")
    pillar_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only projects of this pillar."
    )
    status: list[ProjectStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    archived: bool | None = strawberry.field(
        default=False,
        description=(
            "false (default): active ones, in active areas and pillars; "
            "true: archived ones or in an archived "
            "area or pillar; null: both."
        ),
    )
    search: str | None = strawberry.field(default=None, description="Part of the name, any case.")


@strawberry.input(description="How to order projects.")
class ProjectOrder:
    field: OrderField = strawberry.field(default=OrderField.SORT_ORDER, description="The key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="The direction.")


def archived_ancestor() -> ColumnElement[bool]:
    """True when the project's area or pillar is archived."""
    return exists().where(
        AREAS.c.id == TABLE.c.area_id,
        PILLARS.c.id == AREAS.c.pillar_id,
        AREAS.c.archived.is_(True) | PILLARS.c.archived.is_(True),
    )


def project_conditions(filter: ProjectFilter | None) -> list[ColumnElement[bool]]:
    """Alike at the top and under an area: by default, projects of an archived area or pillar are left out."""
    filter = filter or ProjectFilter()
    conditions = name_search(TABLE.c.name, filter.search)
    if filter.area_id is not None:
        conditions.append(TABLE.c.area_id == decode_id(str(filter.area_id), "Area", ["filter", "areaId"]))
    if filter.pillar_id is not None:
        pillar = decode_id(str(filter.pillar_id), "Pillar", ["filter", "pillarId"])
        conditions.append(exists().where(AREAS.c.id == TABLE.c.area_id, AREAS.c.pillar_id == pillar))
    if filter.status:
        conditions.append(TABLE.c.status.in_([s.value for s in filter.status]))
    hidden_above = archived_ancestor()
    if filter.archived is True:
        conditions.append(TABLE.c.archived.is_(True) | hidden_above)
    elif filter.archived is False:
        conditions += [TABLE.c.archived.is_(False), ~hidden_above]
    return conditions


def project_ordering(order_by: ProjectOrder | None) -> Any:
    order = order_by or ProjectOrder()
    return ordering(TABLE, order.field, order.direction)


async def projects_of_area(
    info: Info[Context, None],
    area_id: uuid.UUID,
    args: PageArgs,
    filter: ProjectFilter | None,
    order_by: ProjectOrder | None,
) -> Connection[Project]:
    page = await page_of_children(
        info,
        "projects",
        TABLE,
        TABLE.c.area_id,
        area_id,
        project_conditions(filter),
        project_ordering(order_by),
        args,
        repr(filter),
    )
    return Connection.from_page(page, Project.from_row)


@node_resolver("Project")
async def project_by_id(info: Info[Context, None], project_id: uuid.UUID) -> Project | None:
    row = await row_by_id(info, TABLE, project_id)
    return Project.from_row(row) if row is not None else None


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="The viewer's projects.")
    async def projects(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[ProjectFilter] = None,
        order_by: OrderBy[ProjectOrder] = None,
    ) -> Connection[Project]:
        page = await page_of_list(
            info,
            TABLE,
            project_conditions(filter),
            project_ordering(order_by),
            PageArgs(first, after, last, before),
        )
        return Connection.from_page(page, Project.from_row)


@strawberry.input(description="A new project.")
class ProjectCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same project.",
    )
    area_id: strawberry.ID = strawberry.field(description="The area it belongs to.")
    name: str = strawberry.field(description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    status: ProjectStatus | None = strawberry.field(default=strawberry.UNSET, description="Default PLANNING.")
    priority: Priority | None = strawberry.field(default=strawberry.UNSET, description="Default MEDIUM.")
    importance: int | None = strawberry.field(default=strawberry.UNSET, description="1–5, default 3.")
    deadline: date | None = strawberry.field(default=strawberry.UNSET, description="When it should be done.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.input(description="Changes to a project; fields left out stay as they are.")
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project to change.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the project is still at this version."
    )
    area_id: strawberry.ID | None = strawberry.field(default=None, description="Move it to this area.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    status: ProjectStatus | None = strawberry.field(default=strawberry.UNSET, description="Where it stands.")
    priority: Priority | None = strawberry.field(default=strawberry.UNSET, description="How pressing it is.")
    importance: int | None = strawberry.field(default=strawberry.UNSET, description="1–5.")
    deadline: date | None = strawberry.field(default=strawberry.UNSET, description="When it should be done.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.type(description="The answer of a project mutation.")
class ProjectPayload:
    project: Project | None = strawberry.field(description="The project as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def project_payload(outcome: Any) -> ProjectPayload:
    value = outcome.value
    return ProjectPayload(
        project=Project.from_row(value) if value is not None else None, user_errors=outcome.errors
    )


def project_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "Project", ["input", "id"])


PARENT_SKIP = ("id", "expected_version", "area_id")


def enum_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Create a project in an area.")
    async def project_create(
        self, info: Info[Context, None], input: Input[ProjectCreateInput]
    ) -> ProjectPayload:
        async def work(uow: Any) -> Any:
            area = decode_id(str(input.area_id), "Area", ["input", "areaId"])
            client_id = optional_id(input.id, "Project", ["input", "id"])
            return await service.create(uow, area, enum_values(provided(input, skip=PARENT_SKIP)), client_id)

        return project_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Change a project, or move it to another area.")
    async def project_update(
        self, info: Info[Context, None], input: Input[ProjectUpdateInput]
    ) -> ProjectPayload:
        async def work(uow: Any) -> Any:
            area = optional_id(input.area_id, "Area", ["input", "areaId"])
            values = enum_values(provided(input, skip=PARENT_SKIP))
            return await service.update(uow, project_id(input.id), values, input.expected_version, area)

        return project_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Delete a project with its tasks.")
    async def project_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        return await delete_mutation(info, ProjectModel, input.id)

    @strawberry.mutation(description="Archive a project: it leaves default lists, with its tasks.")
    async def project_archive(self, info: Info[Context, None], input: Input[IdInput]) -> ProjectPayload:
        return project_payload(await archive_mutation(info, ProjectModel, input.id, True))

    @strawberry.mutation(description="Bring an archived project back.")
    async def project_unarchive(self, info: Info[Context, None], input: Input[IdInput]) -> ProjectPayload:
        return project_payload(await archive_mutation(info, ProjectModel, input.id, False))
