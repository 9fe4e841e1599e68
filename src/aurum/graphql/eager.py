"""Fields answered at once when what they need is already loaded.

graphql-core awaits whatever a resolver returns that is awaitable, and answers anything else directly. A field
declared ``async`` costs a coroutine, a wait and, inside lists, a task of its own, even when its dataloader
already holds the value: on a page of 2,000 tasks, the two such fields a client's task fragment selects were
two thirds of the query's time. Such fields return ``Eventually[T]`` instead (declared with
``graphql_type=T``): the value when the request's loaders have it, an awaitable when they do not. The lists
that produce many objects preload what their selection will ask for, so that the fields find it there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar, overload

from strawberry import Info
from strawberry.types.nodes import SelectedField, Selection

T = TypeVar("T")
R = TypeVar("R")

Eventually: TypeAlias = T | Awaitable[T]


@overload
def then(pending: Awaitable[T], use: Callable[[T], R]) -> Eventually[R]: ...
@overload
def then(pending: T, use: Callable[[T], R]) -> Eventually[R]: ...
def then(pending: Eventually[T], use: Callable[[T], R]) -> Eventually[R]:
    """``use`` of the value at once when it is there: a plain value, or a future that has it (a dataloader's
    cached load); otherwise an awaitable of it."""
    if isinstance(pending, asyncio.Future):
        if pending.done() and not pending.cancelled() and pending.exception() is None:
            return use(pending.result())
        return _later(pending, use)
    if isinstance(pending, Awaitable):
        return _later(pending, use)
    return use(pending)


async def _later(pending: Awaitable[T], use: Callable[[T], R]) -> R:
    return use(await pending)


def selected_names(info: Info[Any, Any]) -> set[str]:
    """The names of the fields selected anywhere below the field being resolved (fragments included)."""
    names: set[str] = set()
    pending: list[Selection] = list(info.selected_fields)
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):  # a fragment's own name is not a field; its selections are
            names.add(selection.name)
        pending.extend(selection.selections)
    return names
