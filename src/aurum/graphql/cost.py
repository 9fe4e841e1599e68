"""What a request may cost, known before it runs: the most objects it can return.

Depth, alias and token limits bound a document's shape, not its size: four nested pages of 100 are a hundred
million objects in a document of sixty tokens. A request's cost counts the objects its selections can return:
a page counts its size (``first``/``last``, else the default page), and everything below it counts once per
row; a list with a ``limit`` or ``ids`` counts those, other lists ``UNSIZED_LIST`` each; a single object
counts one. Scalars are free. Over ``AURUM_MAX_QUERY_COST`` the request is refused (``QUERY_TOO_COMPLEX``)
before anything runs; every request's cost is also charged to its user's budget per minute in Redis
(``AURUM_QUERY_BUDGET``), and past it requests are refused (``RATE_LIMITED``) until the minute turns.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    value_from_ast_untyped,
)
from redis.exceptions import RedisError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from aurum.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

log = structlog.get_logger(__name__)

UNSIZED_LIST = 10  # dependencies, factors, recommendations …: small by their own caps
PAGE_CONTAINERS = ("Connection", "Edge")  # their lists are the page, already counted by its size


@dataclass(frozen=True)
class Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]


def request_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """The most objects the operation can return (the first operation when none is named)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if operation_name is None or _named(o, operation_name)), None)
    if chosen is None:
        return 0
    root = schema.get_root_type(chosen.operation)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in chosen.variable_definitions or ()
        if d.default_value is not None
    }
    walk = Walk(schema, fragments, {**defaults, **variables})
    return _cost(chosen.selection_set, root, walk, 1) if root else 0


def _named(operation: OperationDefinitionNode, name: str) -> bool:
    return operation.name is not None and operation.name.value == name


def _cost(selections: SelectionSetNode, parent: GraphQLNamedType, walk: Walk, rows: int) -> int:
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(selection, parent, walk, rows)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            below = walk.schema.get_type(condition.name.value) if condition else parent
            total += _cost(selection.selection_set, below or parent, walk, rows)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = walk.fragments.get(selection.name.value)
            below = walk.schema.get_type(fragment.type_condition.name.value) if fragment else None
            if fragment is not None and below is not None:
                total += _cost(fragment.selection_set, below, walk, rows)
    return total


def _field_cost(node: FieldNode, parent: GraphQLNamedType, walk: Walk, rows: int) -> int:
    definition = getattr(parent, "fields", {}).get(node.name.value)
    if definition is None or node.selection_set is None:
        return 0  # scalars, introspection
    named = get_named_type(definition.type)
    if not is_composite_type(named):
        return 0
    if parent.name.endswith(PAGE_CONTAINERS):
        return _cost(node.selection_set, named, walk, rows)
    size = _size(node, definition, walk)
    return rows * size + _cost(node.selection_set, named, walk, rows * size)


def _size(node: FieldNode, definition: GraphQLField, walk: Walk) -> int:
    given = {argument.name.value: _value(argument.value, walk) for argument in node.arguments or ()}
    if "first" in definition.args or "last" in definition.args:
        page = given.get("first") or given.get("last")
        return min(max(page, 1), MAX_PAGE_SIZE) if isinstance(page, int) else DEFAULT_PAGE_SIZE
    if "limit" in definition.args:
        limit = given.get("limit", definition.args["limit"].default_value)
        return max(limit, 1) if isinstance(limit, int) else UNSIZED_LIST
    if "ids" in definition.args:
        ids = given.get("ids")
        return max(len(ids), 1) if isinstance(ids, list) else UNSIZED_LIST
    return UNSIZED_LIST if isinstance(get_nullable_type(definition.type), GraphQLList) else 1


def _value(node: ValueNode, walk: Walk) -> Any:
    if isinstance(node, VariableNode):
        return walk.variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return list(node.values)
    return None


def budget_key(user_id: uuid.UUID, now: float) -> str:
    return f"aurum:cost:{user_id}:{int(now // 60)}"


class CostLimit(SchemaExtension):
    """Refuses a request over the per-request limit, and charges the rest to the user's minute budget."""

    def __init__(self, limit: int, budget: int) -> None:
        self.limit = limit
        self.budget = budget

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.result is None and document is not None:
            error = await self._refusal(document)
            if error is not None:
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield

    async def _refusal(self, document: DocumentNode) -> GraphQLError | None:
        ctx = self.execution_context
        context = ctx.context
        cost = request_cost(ctx.schema._schema, document, ctx.operation_name, ctx.variables or {})
        if cost > self.limit:
            message = (
                f"The query could return {cost:,} objects; the limit is {self.limit:,}: "
                "ask for smaller pages, or fewer levels at once"
            )
            return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})
        # Subscriptions are bounded by the caps per socket and per user; charging each at subscribe time
        # would hold a thousand subscribe requests at once in a Redis round trip (measured: +14 KiB a socket).
        if not context.is_authenticated or ctx.operation_type is OperationType.SUBSCRIPTION:
            return None
        spent = await _charge(context.resources.redis, budget_key(context.user_id, time.time()), max(cost, 1))
        if spent is not None and spent > self.budget:
            message = (
                f"This account asked for more than {self.budget:,} objects this minute; try again in a minute"
            )
            return GraphQLError(message, extensions={"code": "RATE_LIMITED"})
        return None


async def _charge(redis: Any, key: str, cost: int) -> int | None:
    """The minute's total after this request, or ``None`` when Redis is away (requests are not held up)."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, cost)
            pipe.expire(key, 120)
            spent, _ = await pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("query budget not charged", error=str(error))
        return None
    return int(spent)
