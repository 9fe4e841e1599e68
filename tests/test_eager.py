"""``aurum.graphql.eager``: a value at once when it is loaded, an awaitable when it is not, and the fields
a page's rows are asked for, through fragments."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
import strawberry
from strawberry import Info

from aurum.graphql.eager import node_fields, then


def double(value: int) -> int:
    return value * 2


async def test_a_plain_value_or_a_settled_future_is_used_at_once() -> None:
    assert then(21, double) == 42
    settled: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    settled.set_result(4)
    assert then(settled, double) == 8


async def test_a_pending_future_or_a_coroutine_is_awaited() -> None:
    pending: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    later = then(pending, double)
    assert inspect.isawaitable(later)
    pending.set_result(5)
    assert await later == 10

    async def value() -> int:
        return 6

    coroutine = then(value(), double)
    assert inspect.isawaitable(coroutine)
    assert await coroutine == 12


async def test_a_failed_or_cancelled_future_raises_when_awaited() -> None:
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[int] = loop.create_future()
    failed.set_exception(LookupError("gone"))
    with pytest.raises(LookupError, match="gone"):
        await then(failed, double)  # type: ignore[misc]
    cancelled: asyncio.Future[int] = loop.create_future()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await then(cancelled, double)  # type: ignore[misc]


@strawberry.type
class Leaf:
    a: int = 1
    b: int = 2

    @strawberry.field
    def child(self) -> Leaf:
        return Leaf()


@strawberry.type
class Edge:
    @strawberry.field
    def node(self) -> Leaf:
        return Leaf()


@strawberry.type
class Page:
    @strawberry.field
    def nodes(self) -> list[Leaf]:
        return [Leaf()]

    @strawberry.field
    def edges(self) -> list[Edge]:
        return [Edge()]


@strawberry.type
class Query:
    seen: strawberry.Private[list[set[str]]]

    @strawberry.field
    def page(self, info: Info[Any, Any]) -> Page:
        self.seen.append(node_fields(info))
        return Page()


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ("{ page { nodes { a } } }", {"a"}),
        ("{ page { nodes { renamed: b } } }", {"b"}),
        ("{ page { edges { node { ... on Leaf { b } } } } }", {"b"}),
        ("{ page { nodes { a child { b } } } }", {"a", "child"}),  # b is the child's, not a row's
        (
            "{ page { ...P } } fragment P on Page { nodes { ...L } }"
            " fragment L on Leaf { a ... on Leaf { b } }",
            {"a", "b"},
        ),
    ],
)
def test_node_fields_are_those_of_the_pages_rows_through_aliases_and_fragments(
    document: str, names: set[str]
) -> None:
    root = Query(seen=[])
    result = strawberry.Schema(query=Query).execute_sync(document, root_value=root)
    assert result.errors is None
    assert root.seen == [names]
