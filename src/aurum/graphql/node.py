"""``node(id:)`` and ``nodes(ids:)``: any object by its global id, ``null`` when it is not the viewer's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import Info

from aurum.errors import InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.types import Node
from aurum.ids import parse_global_id, shown

Resolver = Callable[[Info[Context, None], uuid.UUID], Awaitable[Any]]
RESOLVERS: dict[str, Resolver] = {}
R = TypeVar("R", bound=Resolver)


def node_resolver(type_name: str) -> Callable[[R], R]:
    """Register how to fetch a ``type_name`` by its UUID for the viewer."""

    def register(resolver: R) -> R:
        RESOLVERS[type_name] = resolver
        return resolver

    return register


async def resolve_node(
    info: Info[Context, None], global_id: str, field: list[str] | None = None
) -> Node | None:
    info.context.user_id  # noqa: B018  (anonymous callers stop here)
    parsed = parse_global_id(global_id)
    if parsed is None:
        raise InvalidInput(f"{shown(global_id)} is not a valid id", field or ["id"])
    resolver = RESOLVERS.get(parsed[0])
    if resolver is None:
        return None
    node: Node | None = await resolver(info, parsed[1])
    return node


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when it does not exist or is not yours.")
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The global id of the object.")],
    ) -> Node | None:
        return await resolve_node(info, str(id))

    @strawberry.field(
        description="Several objects by their global ids, in the same order (null where missing)."
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids, at most 100.")],
    ) -> list[Node | None]:
        if len(ids) > 100:
            raise InvalidInput("Ask for at most 100 ids at once", ["ids"])
        found = (resolve_node(info, str(i), ["ids", str(n)]) for n, i in enumerate(ids))
        return list(await asyncio.gather(*found))
