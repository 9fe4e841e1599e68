"""``aurum.graphql.eager``: a value at once when it is loaded, an awaitable when it is not, and the names a
selection asks for, through fragments."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
import strawberry
from strawberry import Info

from aurum.graphql.eager import selected_names, then


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


@strawberry.type
class Query:
    seen: strawberry.Private[list[set[str]]]

    @strawberry.field
    def leaf(self, info: Info[Any, Any]) -> Leaf:
        self.seen.append(selected_names(info))
        return Leaf()


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ("{ leaf { a } }", {"leaf", "a"}),
        ("{ leaf { renamed: b } }", {"leaf", "b"}),
        ("{ leaf { ... on Leaf { b } } }", {"leaf", "b"}),
        ("{ leaf { ...Both } } fragment Both on Leaf { a ... on Leaf { b } }", {"leaf", "a", "b"}),
    ],
)
def test_selected_names_see_through_aliases_and_fragments(document: str, names: set[str]) -> None:
    root = Query(seen=[])
    result = strawberry.Schema(query=Query).execute_sync(document, root_value=root)
    assert result.errors is None
    assert root.seen == [names]
