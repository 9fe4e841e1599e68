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
from collections.abc import Awaitable, Callable, Iterator
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


def node_fields(info: Info[Any, Any]) -> set[str]:
    """The fields selected on each row of the connection being resolved: in ``nodes { … }`` and
    ``edges { node { … } }``, fragments included, not what lies deeper (that is another page's to load)."""
    names: set[str] = set()
    for connection in info.selected_fields:
        for part in _fields(connection.selections):
            if part.name == "nodes":
                names.update(f.name for f in _fields(part.selections))
            elif part.name == "edges":
                for node in (f for f in _fields(part.selections) if f.name == "node"):
                    names.update(f.name for f in _fields(node.selections))
    return names


def _fields(selections: list[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, with those of its fragments (a fragment's own name is not a field)."""
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            yield selection
        else:
            pending.extend(selection.selections)
