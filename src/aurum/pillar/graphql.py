"""Pillars over GraphQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import ColumnElement, Row, func
from strawberry import Info

from aurum.graphql import loaders
from aurum.graphql.context import Context
from aurum.graphql.mutations import archive_mutation, delete_mutation, optional_id, provided, run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.ordering import OrderField, ordering
from aurum.graphql.relations import page_of_list, row_by_id
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
from aurum.pagination import Ordering, PageArgs
from aurum.pillar import service
from aurum.pillar.model import Pillar as PillarModel

if TYPE_CHECKING:
    from aurum.area.graphql import Area, AreaFilter, AreaOrder

TABLE = table_of(PillarModel)
AreaT = Annotated["Area", strawberry.lazy("aurum.area.graphql")]
AreaFilterT = Annotated["AreaFilter", strawberry.lazy("aurum.area.graphql")]
AreaOrderT = Annotated["AreaOrder", strawberry.lazy("aurum.area.graphql")]


@strawberry.type(description="A life domain (health, career, family …) with a multi-year vision.")
class Pillar(Node):
    uuid: strawberry.Private[UUID]
    name: str = strawberry.field(description="The pillar's name, 1–200 characters.")
    description: str | None = strawberry.field(description="Free text about the pillar.")
    icon: str | None = strawberry.field(description="An icon name or emoji.")
    color: str | None = strawberry.field(description="A hex color such as #4f46e5.")
    sort_order: int = strawberry.field(description="Position among the viewer's pillars.")
    archived: bool = strawberry.field(description="Archived pillars are left out of default lists.")
    time_allocation: int | None = strawberry.field(description="Target share of the person's time, 0–100 %.")
    vision_statement: str | None = strawberry.field(description="Where this part of life is heading.")
    version: int = strawberry.field(description="Increases with every change; pass as expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Any) -> Pillar:
        return cls(
            id=strawberry.ID(to_global_id("Pillar", row.id)),
            uuid=row.id,
            name=row.name,
            description=row.description,
            icon=row.icon,
            color=row.color,
            sort_order=row.sort_order,
            archived=row.archived,
            time_allocation=row.time_allocation,
            vision_statement=row.vision_statement,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The pillar's areas.")
    async def areas(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[AreaFilterT] = None,
        order_by: OrderBy[AreaOrderT] = None,
    ) -> Connection[AreaT]:
        from aurum.area.graphql import areas_of_pillar

        return await areas_of_pillar(info, self.uuid, PageArgs(first, after, last, before), filter, order_by)

    @strawberry.field(description="Completed ÷ all tasks below this pillar.")
    async def progress(self, info: Info[Context, None]) -> Progress:
        return await loaders.progress(info, "pillar", self.uuid)


@strawberry.input(description="Which pillars to list.")
class PillarFilter:
    archived: bool | None = strawberry.field(
        default=False, description="false (default): active ones; true: archived ones; null: both."
    )
    search: str | None = strawberry.field(default=None, description="Part of the name, any case.")


@strawberry.input(description="How to order pillars.")
class PillarOrder:
    field: OrderField = strawberry.field(default=OrderField.SORT_ORDER, description="The key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="The direction.")


def name_search(column: Any, text: str | None) -> list[ColumnElement[bool]]:
    if not text:
        return []
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [func.lower(column).contains(escaped.lower(), autoescape=False)]


def pillar_conditions(filter: PillarFilter | None) -> list[ColumnElement[bool]]:
    filter = filter or PillarFilter()
    conditions = name_search(TABLE.c.name, filter.search)
    if filter.archived is not None:
        conditions.append(TABLE.c.archived.is_(filter.archived))
    return conditions


def pillar_ordering(order_by: PillarOrder | None) -> Ordering:
    order = order_by or PillarOrder()
    return ordering(TABLE, order.field, order.direction)


@node_resolver("Pillar")
async def pillar_by_id(info: Info[Context, None], pillar_id: uuid.UUID) -> Pillar | None:
    row: Row[Any] | None = await row_by_id(info, TABLE, pillar_id)
    return Pillar.from_row(row) if row is not None else None


@strawberry.type
class PillarQuery:
    @strawberry.field(description="The viewer's pillars.")
    async def pillars(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[PillarFilter] = None,
        order_by: OrderBy[PillarOrder] = None,
    ) -> Connection[Pillar]:
        page = await page_of_list(
            info,
            TABLE,
            pillar_conditions(filter),
            pillar_ordering(order_by),
            PageArgs(first, after, last, before),
        )
        return Connection.from_page(page, Pillar.from_row)


@strawberry.input(description="A new pillar.")
class PillarCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same pillar.",
    )
    name: str = strawberry.field(description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    color: str | None = strawberry.field(default=strawberry.UNSET, description="A hex color.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")
    time_allocation: int | None = strawberry.field(default=strawberry.UNSET, description="0–100 %.")
    vision_statement: str | None = strawberry.field(default=strawberry.UNSET, description="The vision.")


@strawberry.input(description="Changes to a pillar; fields left out stay as they are.")
class PillarUpdateInput:
    id: strawberry.ID = strawberry.field(description="The pillar to change.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the pillar is still at this version."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    icon: str | None = strawberry.field(default=strawberry.UNSET, description="An icon name or emoji.")
    color: str | None = strawberry.field(default=strawberry.UNSET, description="A hex color.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")
    time_allocation: int | None = strawberry.field(default=strawberry.UNSET, description="0–100 %.")
    vision_statement: str | None = strawberry.field(default=strawberry.UNSET, description="The vision.")


@strawberry.type(description="The answer of a pillar mutation.")
class PillarPayload:
    pillar: Pillar | None = strawberry.field(description="The pillar as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def pillar_payload(outcome: Any) -> PillarPayload:
    value = outcome.value
    return PillarPayload(
        pillar=Pillar.from_row(value) if value is not None else None, user_errors=outcome.errors
    )


def pillar_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "Pillar", ["input", "id"])


@strawberry.type
class PillarMutation:
    @strawberry.mutation(description="Create a pillar.")
    async def pillar_create(
        self, info: Info[Context, None], input: Input[PillarCreateInput]
    ) -> PillarPayload:
        return pillar_payload(
            await run_mutation(
                info,
                lambda uow: service.create(
                    uow, provided(input), optional_id(input.id, "Pillar", ["input", "id"])
                ),
            )
        )

    @strawberry.mutation(description="Change a pillar.")
    async def pillar_update(
        self, info: Info[Context, None], input: Input[PillarUpdateInput]
    ) -> PillarPayload:
        return pillar_payload(
            await run_mutation(
                info,
                lambda uow: service.update(uow, pillar_id(input.id), provided(input), input.expected_version),
            )
        )

    @strawberry.mutation(description="Delete a pillar with its areas, projects and tasks.")
    async def pillar_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        return await delete_mutation(info, PillarModel, input.id)

    @strawberry.mutation(description="Archive a pillar: it leaves default lists, with everything below it.")
    async def pillar_archive(self, info: Info[Context, None], input: Input[IdInput]) -> PillarPayload:
        return pillar_payload(await archive_mutation(info, PillarModel, input.id, True))

    @strawberry.mutation(description="Bring an archived pillar back.")
    async def pillar_unarchive(self, info: Info[Context, None], input: Input[IdInput]) -> PillarPayload:
        return pillar_payload(await archive_mutation(info, PillarModel, input.id, False))
