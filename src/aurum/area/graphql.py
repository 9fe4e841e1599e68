"""Areas over GraphQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import ColumnElement, exists
from strawberry import Info

from aurum.area import service
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
    Progress,
    UserError,
)
from aurum.ids import decode_id, to_global_id
from aurum.models import table_of
from aurum.pagination import PageArgs
from aurum.pillar.graphql import Pillar, name_search, pillar_by_id
from aurum.pillar.model import Pillar as PillarModel

if TYPE_CHECKING:
    from aurum.project.graphql import Project, ProjectFilter, ProjectOrder

TABLE = table_of(AreaModel)
PILLARS = table_of(PillarModel)
ProjectT = Annotated["Project", strawberry.lazy("aurum.project.graphql")]
ProjectFilterT = Annotated["ProjectFilter", strawberry.lazy("aurum.project.graphql")]
ProjectOrderT = Annotated["ProjectOrder", strawberry.lazy("aurum.project.graphql")]


@strawberry.type(description="A quarterly focus inside a pillar.")
class Area(Node):
    uuid: strawberry.Private[UUID]
    pillar_uuid: strawberry.Private[UUID]
    name: str = strawberry.field(description="The area's name, 1–200 characters.")
    description: str | None = strawberry.field(description="Free text about the area.")
    icon: str | None = strawberry.field(description="An icon name or emoji.")
    color: str | None = strawberry.field(description="A hex color such as #4f46e5.")
    importance: int = strawberry.field(description="1 (low) to 5 (high).")
    sort_order: int = strawberry.field(description="Position among its siblings.")
    archived: bool = strawberry.field(description="Archived areas are left out of default lists.")
    version: int = strawberry.field(description="Increases with every change; pass as expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Area:
        return cls(
            id=strawberry.ID(to_global_id("Area", row.id)),
            uuid=row.id,
            pillar_uuid=row.pillar_id,
            name=row.name,
            description=row.description,
            icon=row.icon,
            color=row.color,
            importance=row.importance,
            sort_order=row.sort_order,
            archived=row.archived,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The pillar this area belongs to.")
    async def pillar(self, info: Info[Context, None]) -> Pillar:
        pillar = await pillar_by_id(info, self.pillar_uuid)
        assert pillar is not None
        return pillar

    @strawberry.field(description="The area's projects.")
    async def projects(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[ProjectFilterT] = None,
        order_by: OrderBy[ProjectOrderT] = None,
    ) -> Connection[ProjectT]:
        from aurum.project.graphql import projects_of_area

        return await projects_of_area(info, self.uuid, PageArgs(first, after, last, before), filter, order_by)

    @strawberry.field(description="Completed ÷ all tasks below this area.")
    async def progress(self, info: Info[Context, None]) -> Progress:
        return await loaders.progress(info, "area", self.uuid)


@strawberry.input(description="Which areas to list.")
class AreaFilter:
    pillar_id: strawberry.ID | None = strawberry.field(default=None, description="Only areas of this pillar.")
    archived: bool | None = strawberry.field(
        default=False,
        description=(
            "false (default): active ones, in active pillars; true: archived ones or in an archived pillar; "
            "null: both."
        ),
    )
    search: str | None = strawberry.field(default=None, description="Part of the name, any case.")


@strawberry.input(description="How to order areas.")
class AreaOrder:
    field: OrderField = strawberry.field(default=OrderField.SORT_ORDER, description="The key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="The direction.")


def area_conditions(filter: AreaFilter | None) -> list[ColumnElement[bool]]:
    """Alike at the top and under a pillar: by default, areas of an archived pillar are left out too."""
    filter = filter or AreaFilter()
    conditions = name_search(TABLE.c.name, filter.search)
    if filter.pillar_id is not None:
        conditions.append(
            TABLE.c.pillar_id == decode_id(str(filter.pillar_id), "Pillar", ["filter", "pillarId"])
        )
    archived_pillar = exists().where(PILLARS.c.id == TABLE.c.pillar_id, PILLARS.c.archived.is_(True))
    if filter.archived is True:
        conditions.append(TABLE.c.archived.is_(True) | archived_pillar)
    elif filter.archived is False:
        conditions += [TABLE.c.archived.is_(False), ~archived_pillar]
    return conditions


def area_ordering(order_by: AreaOrder | None) -> Any:
    order = order_by or AreaOrder()
    return ordering(TABLE, order.field, order.direction)


async def areas_of_pillar(
    info: Info[Context, None],
    pillar_id: uuid.UUID,
    args: PageArgs,
    filter: AreaFilter | None,
    order_by: AreaOrder | None,
) -> Connection[Area]:
    page = await page_of_children(
        info,
        "areas",
        TABLE,
        TABLE.c.pillar_id,
        pillar_id,
        area_conditions(filter),
        area_ordering(order_by),
        args,
        repr(filter),
    )
    return Connection.from_page(page, Area.from_row)


@node_resolver("Area")
async def area_by_id(info: Info[Context, None], area_id: uuid.UUID) -> Area | None:
    row = await row_by_id(info, TABLE, area_id)
    return Area.from_row(row) if row is not None else None


@strawberry.type
class AreaQuery:
    @strawberry.field(description="The viewer's areas.")
    async def areas(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[AreaFilter] = None,
        order_by: OrderBy[AreaOrder] = None,
    ) -> Connection[Area]:
        page = await page_of_list(
            info,
            TABLE,
            area_conditions(filter),
            area_ordering(order_by),
            PageArgs(first, after, last, before),
        )
        return Connection.from_page(page, Area.from_row)


@strawberry.input(description="A new area.")
class AreaCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same area.",
    )
    pillar_id: strawberry.ID = strawberry.field(description="The pillar it belongs to.")
    name: str = strawberry.field(description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    color: str | None = strawberry.field(default=strawberry.UNSET, description="A hex color.")
    importance: int | None = strawberry.field(default=strawberry.UNSET, description="1–5, default 3.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.input(description="Changes to an area; fields left out stay as they are.")
class AreaUpdateInput:
    id: strawberry.ID = strawberry.field(description="The area to change.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the area is still at this version."
    )
    pillar_id: strawberry.ID | None = strawberry.field(default=None, description="Move it to this pillar.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    color: str | None = strawberry.field(default=strawberry.UNSET, description="A hex color.")
    importance: int | None = strawberry.field(default=strawberry.UNSET, description="1–5.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.type(description="The answer of an area mutation.")
class AreaPayload:
    area: Area | None = strawberry.field(description="The area as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def area_payload(outcome: Any) -> AreaPayload:
    value = outcome.value
    return AreaPayload(area=Area.from_row(value) if value is not None else None, user_errors=outcome.errors)


def area_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "Area", ["input", "id"])


PARENT_SKIP = ("id", "expected_version", "pillar_id")


@strawberry.type
class AreaMutation:
    @strawberry.mutation(description="Create an area in a pillar.")
    async def area_create(self, info: Info[Context, None], input: Input[AreaCreateInput]) -> AreaPayload:
        async def work(uow: Any) -> Any:
            pillar = decode_id(str(input.pillar_id), "Pillar", ["input", "pillarId"])
            client_id = optional_id(input.id, "Area", ["input", "id"])
            return await service.create(uow, pillar, provided(input, skip=PARENT_SKIP), client_id)

        return area_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Change an area, or move it to another pillar.")
    async def area_update(self, info: Info[Context, None], input: Input[AreaUpdateInput]) -> AreaPayload:
        async def work(uow: Any) -> Any:
            pillar = optional_id(input.pillar_id, "Pillar", ["input", "pillarId"])
            values = provided(input, skip=PARENT_SKIP)
            return await service.update(uow, area_id(input.id), values, input.expected_version, pillar)

        return area_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Delete an area with its projects and tasks.")
    async def area_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        return await delete_mutation(info, AreaModel, input.id)

    @strawberry.mutation(description="Archive an area: it leaves default lists, with everything below it.")
    async def area_archive(self, info: Info[Context, None], input: Input[IdInput]) -> AreaPayload:
        return area_payload(await archive_mutation(info, AreaModel, input.id, True))

    @strawberry.mutation(description="Bring an archived area back.")
    async def area_unarchive(self, info: Info[Context, None], input: Input[IdInput]) -> AreaPayload:
        return area_payload(await archive_mutation(info, AreaModel, input.id, False))
