"""Shapes shared by every domain: nodes, connections, user errors."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from aurum.errors import DomainError, DomainErrors
from aurum.errors import ErrorCode as DomainErrorCode  # registered with strawberry below
from aurum.pagination import Page

strawberry.enum(DomainErrorCode, name="ErrorCode", description="Why a mutation could not do what was asked.")


@strawberry.interface(
    description="An object with a stable, opaque global id; `node(id:)` fetches any of them."
)
class Node:
    id: strawberry.ID = strawberry.field(description="The opaque global id.")


@strawberry.type(description="An expected failure of a mutation, in the input field it concerns.")
class UserError:
    field: list[str] | None = strawberry.field(description="The path of the input field at fault, if one is.")
    message: str = strawberry.field(description="What went wrong, for people.")
    code: DomainErrorCode = strawberry.field(description="What went wrong, for programs.")

    @classmethod
    def from_exception(cls, error: DomainError | DomainErrors) -> list[UserError]:
        errors = error.errors if isinstance(error, DomainErrors) else [error]
        return [cls(field=e.field, message=e.message, code=e.code) for e in errors]


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether rows follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether rows precede this page.")
    start_cursor: str | None = strawberry.field(description="The cursor of the first row of this page.")
    end_cursor: str | None = strawberry.field(description="The cursor of the last row of this page.")


NodeT = TypeVar("NodeT")
ArgT = TypeVar("ArgT")

# The arguments every connection and mutation takes, described once.
First = Annotated[
    int | None, strawberry.argument(description="Return the first n rows (after `after`, if given).")
]
After = Annotated[str | None, strawberry.argument(description="Start after the row with this cursor.")]
Last = Annotated[
    int | None, strawberry.argument(description="Return the last n rows (before `before`, if given).")
]
Before = Annotated[str | None, strawberry.argument(description="End before the row with this cursor.")]
Filter = Annotated[
    ArgT | None, strawberry.argument(description="Which rows to list (see the fields for defaults).")
]
OrderBy = Annotated[
    ArgT | None, strawberry.argument(description="How to order the rows; by sort order by default.")
]
Input = Annotated[ArgT, strawberry.argument(description="What the mutation should do.")]


@strawberry.type(description="A row of a list with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from this row.")
    node: NodeT = strawberry.field(description="The row.")


@strawberry.type(description="One page of a list (a Relay connection).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The rows of this page with their cursors.")
    nodes: list[NodeT] = strawberry.field(description="The rows of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(description="How many rows the whole list has, over all pages.")

    @classmethod
    def from_page(cls, page: Page, convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
        nodes = [convert(row) for row in page.rows]
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            total_count=page.total,
        )


@strawberry.enum(description="The direction of an ordering.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="How far the tasks below something have come.")
class Progress:
    total_tasks: int = strawberry.field(description="Tasks below, subtasks included.")
    completed_tasks: int = strawberry.field(description="Of those, the completed ones.")
    percent: float = strawberry.field(description="Completed share, 0 to 100.")

    @classmethod
    def of(cls, total: int, completed: int) -> Progress:
        return cls(
            total_tasks=total,
            completed_tasks=completed,
            percent=round(100 * completed / total, 2) if total else 0.0,
        )


@strawberry.input(description="Names the object a mutation acts on.")
class IdInput:
    id: strawberry.ID = strawberry.field(description="The object's global id.")


@strawberry.type(description="The answer of a mutation that returns nothing but success or its errors.")
class Payload:
    ok: bool = strawberry.field(description="Whether it was done.")
    user_errors: list[UserError] = strawberry.field(description="Why not, if it was not.")

    @classmethod
    def done(cls) -> Payload:
        return cls(ok=True, user_errors=[])

    @classmethod
    def failed(cls, error: DomainError | DomainErrors) -> Payload:
        return cls(ok=False, user_errors=UserError.from_exception(error))


@strawberry.type(description="The answer of a delete.")
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The global id of what was deleted.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was deleted, if so.")
