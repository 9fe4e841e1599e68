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

import asyncio
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

from aurum.graphql.anatomy import Anatomy, anatomy_of
from aurum.graphql.documents import anatomy_for
from aurum.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

log = structlog.get_logger(__name__)

UNSIZED_LIST = 10  # dependencies, factors, recommendations …: small by their own caps
PAGE_CONTAINERS = ("Connection", "Edge")  # their lists are the page, already counted by its size


@dataclass(frozen=True)
class Walk:
    schema: GraphQLSchema
    variables: Mapping[str, Any]
    fragments: Mapping[str, int]
    """Each fragment's cost per row of the object it is spread on, measured once (aurum.graphql.anatomy)."""


def request_cost(
    schema: GraphQLSchema,
    document: DocumentNode | Anatomy,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> int:
    """The most objects the operation can return (the first operation when none is named)."""
    anatomy = document if isinstance(document, Anatomy) else anatomy_of(document)
    chosen = anatomy.operation(operation_name)
    root = schema.get_root_type(chosen.operation) if chosen is not None else None
    if chosen is None or root is None:
        return 0
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in chosen.variable_definitions or ()
        if d.default_value is not None
    }
    given = {**defaults, **variables}

    def per_row(fragment: FragmentDefinitionNode, measured: Mapping[str, int]) -> int:
        below = schema.get_type(fragment.type_condition.name.value)
        return _cost(fragment.selection_set, below, Walk(schema, given, measured)) if below else 0

    return _cost(chosen.selection_set, root, Walk(schema, given, anatomy.fold(per_row)))


def _cost(selections: SelectionSetNode, parent: GraphQLNamedType, walk: Walk) -> int:
    """The objects these selections can return per row of ``parent``."""
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(selection, parent, walk)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            below = walk.schema.get_type(condition.name.value) if condition else parent
            total += _cost(selection.selection_set, below or parent, walk)
        elif isinstance(selection, FragmentSpreadNode):
            total += walk.fragments.get(selection.name.value, 0)
    return total


def _field_cost(node: FieldNode, parent: GraphQLNamedType, walk: Walk) -> int:
    definition = getattr(parent, "fields", {}).get(node.name.value)
    if definition is None or node.selection_set is None:
        return 0  # scalars, introspection
    named = get_named_type(definition.type)
    if not is_composite_type(named):
        return 0
    below = _cost(node.selection_set, named, walk)
    if parent.name.endswith(PAGE_CONTAINERS):
        return below
    return _size(node, definition, walk) * (1 + below)


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

    def __init__(self, limit: int, budget: int, ledger: Ledger) -> None:
        self.limit = limit
        self.budget = budget
        self.ledger = ledger

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.result is None and ctx.graphql_document is not None:
            error = await self._refusal()
            if error is not None:
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield

    async def _refusal(self) -> GraphQLError | None:
        ctx = self.execution_context
        # Subscriptions are bounded by the caps per socket and per user instead; the compiled path may have
        # charged the request before leaving it to the resolvers.
        charged = ctx.operation_type is not OperationType.SUBSCRIPTION and not ctx.context.charged
        variables = ctx.variables or {}
        return await refusal(
            ctx.context,
            ctx.schema._schema,
            anatomy_for(ctx),
            ctx.operation_name,
            variables,
            self.limit,
            (self.ledger, self.budget) if charged else None,
        )


async def refusal(
    context: Any,
    schema: GraphQLSchema,
    anatomy: Anatomy,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limit: int,
    budget: tuple[Ledger, int] | None,
) -> GraphQLError | None:
    """Why the request may not run: it could return more than ``limit`` objects, or its user has asked for
    more than the budget this minute, by the ledger (charged to it here; ``None``: not charged)."""
    cost = request_cost(schema, anatomy, operation_name, variables)
    if cost > limit:
        message = (
            f"The query could return {cost:,} objects; the limit is {limit:,}: "
            "ask for smaller pages, or fewer levels at once"
        )
        return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})
    # Charging each subscription at subscribe time would hold a thousand subscribe requests at once in a
    # Redis round trip (measured: +14 KiB a socket): subscriptions pass no budget.
    if not context.is_authenticated or budget is None:
        return None
    ledger, most = budget
    if ledger.over(context.user_id, most):
        return spent_too_much(most)
    ledger.charge(context.resources.redis, context.user_id, cost)
    return None


def spent_too_much(budget: int) -> GraphQLError:
    message = f"This account asked for more than {budget:,} objects this minute; try again in a minute"
    return GraphQLError(message, extensions={"code": "RATE_LIMITED"})


class Ledger:
    """What this process knows of each user's minute: the totals its charges were answered with, and the
    charges on their way. A request is refused from it without asking Redis. Charges are not waited for:
    those of the requests that finish while one is on its way go together in the next pipeline (at 8
    requests at once, a round trip each was a tenth of a one-row read's time). A user is refused at most
    one round trip late per process, for what other processes charged meanwhile."""

    KNOWN = 10_000

    def __init__(self) -> None:
        self._totals: dict[uuid.UUID, tuple[int, int]] = {}
        self._unsent: dict[uuid.UUID, int] = {}
        self._sending: asyncio.Task[None] | None = None

    def over(self, user_id: uuid.UUID, budget: int) -> bool:
        minute, total = self._totals.get(user_id, (-1, 0))
        known = total if minute == _minute() else 0
        return known + self._unsent.get(user_id, 0) > budget

    def charge(self, redis: Any, user_id: uuid.UUID, cost: int) -> None:
        self._unsent[user_id] = self._unsent.get(user_id, 0) + max(cost, 1)
        if self._sending is None:
            self._sending = asyncio.create_task(self._send(redis))

    async def _send(self, redis: Any) -> None:
        try:
            while self._unsent:
                batch = dict(self._unsent)
                now = time.time()
                totals = await _charge_many(redis, {budget_key(u, now): c for u, c in batch.items()})
                for user_id, cost in batch.items():
                    left = self._unsent.pop(user_id) - cost
                    if left:
                        self._unsent[user_id] = left
                if totals is not None:
                    self._known(dict(zip(batch, totals, strict=True)))
        finally:
            self._sending = None

    def _known(self, totals: dict[uuid.UUID, int]) -> None:
        if len(self._totals) + len(totals) > self.KNOWN:
            self._totals.clear()
        current = _minute()
        for user_id, total in totals.items():
            self._totals[user_id] = (current, total)


def _minute() -> int:
    return int(time.time() // 60)


async def _charge_many(redis: Any, costs: Mapping[str, int]) -> list[int] | None:
    """Each key's total after its charge, in order; ``None`` when Redis is away."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for key, cost in costs.items():
                pipe.incrby(key, cost)
                pipe.expire(key, 120)
            answers = await pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("query budget not charged", error=str(error))
        return None
    return [int(spent) for spent in answers[::2]]
