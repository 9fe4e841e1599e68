"""recordChanged served lean: each change executed once per selection and user, the same text to every socket.

Strawberry runs a subscription per socket: for each event a GraphQL execution, a result, its extensions and
its encoding, and between events it keeps generators and execution state per subscription. With many sockets
per user that is most of a process's time and most of an idle socket's memory. A subscription to
recordChanged is therefore checked by Strawberry's own parsing, validation and extension hooks, then kept as
little more than its place in the user's stream (``plan_for``); each change is executed once for all
subscriptions of that user with the same selection (``render``). Other operations take Strawberry's path.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    Executor,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableNode,
    execute_subscription_event,
    get_operation_ast,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.graphql import OperationType

from aurum.graphql.anatomy import ast_nodes
from aurum.graphql.context import Context
from aurum.graphql.documents import documents_of
from aurum.graphql.extensions import format_error
from aurum.realtime.graphql import ChangeEvent, EntityType
from aurum.realtime.payload import ScalarSelection, scalar_selection
from aurum.realtime.reading import Change

ROOT_FIELD = "recordChanged"


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Plan:
    """What to execute per change, shared by the subscriptions whose payloads cannot differ."""

    query: str
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any] | None
    key: Hashable  # what its payload depends on besides the change and the user
    scalars: ScalarSelection | None  # the change's own fields only: built without graphql-core


@dataclass(frozen=True, slots=True)
class Following:
    """A checked recordChanged subscription: its plan, and what it follows from where."""

    plan: Plan
    after: str | None
    entity_types: list[EntityType] | None


_PLANS: weakref.WeakValueDictionary[Hashable, Plan] = weakref.WeakValueDictionary()


async def plan_for(
    schema: strawberry.Schema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
) -> Following | None:
    """What a valid subscription to recordChanged alone follows; ``None`` for anything else (or anything
    wrong), which Strawberry's own path then runs or reports."""
    document = await _checked(schema, query, variables, operation_name, context)
    if document is None:
        return None
    operation = get_operation_ast(document, operation_name)
    root = _sole_root_field(operation)
    if operation is None or root is None or context.principal is None:
        return None
    # Coerced without building an executor: its reference cycles would linger as garbage per subscription.
    coerced = get_variable_values(
        schema._schema,
        operation.variable_definitions or (),
        variables or {},
        hide_suggestions=documents_of(schema).hide_suggestions,
    )
    if isinstance(coerced, list):
        return None
    field = schema._schema.subscription_type.fields[ROOT_FIELD]  # type: ignore[union-attr]
    try:
        arguments = get_argument_values(field, root, coerced)
    except GraphQLError:
        return None
    principal = context.principal
    used = sorted(_variables_in(root, document) & set(variables or {}))
    payload_variables = tuple((name, orjson.dumps(variables[name]) if variables else b"") for name in used)
    key = (query, operation_name, payload_variables, principal.api_key_id is None, principal.scopes)
    plan = _PLANS.get(key)
    if plan is None:
        scalars = scalar_selection(root, document)
        plan = _PLANS[key] = Plan(query, document, operation_name, variables, key, scalars)
    return Following(plan, arguments.get("after"), arguments.get("entityTypes"))


def render(schema: strawberry.Schema, plan: Plan, change: Change, context: Context) -> str | Awaitable[str]:
    """The ``payload`` of a ``next`` message for this change, as JSON text: at once when the selection
    resolves nothing asynchronously (no ``node``), else once its resolvers are done."""
    if plan.scalars is not None:
        return plan.scalars.payload(change)
    event = ChangeEvent.of(change)
    executor = Executor.build(
        schema._schema, plan.document, event, context.fresh(), plan.variables, plan.operation_name
    )
    assert not isinstance(executor, list), executor  # the plan was built from the same arguments
    result = execute_subscription_event(executor)
    if inspect.isawaitable(result):
        return _encoded(result, context.request_id)
    return encode(result, context.request_id)


async def _encoded(result: Awaitable[ExecutionResult], request_id: str) -> str:
    return encode(await result, request_id)


def encode(result: ExecutionResult, request_id: str) -> str:
    """As Strawberry's graphql-transport-ws handler words a result, errors formatted as for any request."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [format_error(e, request_id).formatted for e in result.errors]
    return orjson.dumps(payload).decode()


def failure(error: Exception, request_id: str) -> str:
    """The payload Strawberry sends when a subscription's source fails (a bad cursor, a failed read)."""
    if not isinstance(error, GraphQLError):
        error = GraphQLError(str(error), original_error=error)
    return encode(ExecutionResult(None, [error]), request_id)


async def _checked(
    schema: strawberry.Schema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
) -> DocumentNode | None:
    """Strawberry's own checks before execution (parsing, validation, the extensions' hooks), or ``None``.

    Uses two of Strawberry's private steps, so that the lean path can never accept what Strawberry's refuses.
    """
    execution = schema._create_execution_context(
        query=query,
        allowed_operation_types=(OperationType.SUBSCRIPTION,),
        variable_values=variables,
        context_value=context,
        operation_name=operation_name,
    )
    extensions = schema.get_extensions()
    if any(extension._implements_resolve() for extension in extensions):
        return None  # resolver middleware runs on Strawberry's path only
    for extension in extensions:
        extension.execution_context = execution
    runner = schema.create_extensions_runner(execution, extensions)
    try:
        async with runner.operation():
            if await schema._prepare_operation_async(execution, runner) is not None:
                return None
            async with runner.executing():
                pass
    except Exception:  # Strawberry's path answers it as it should
        return None
    return execution.graphql_document if execution.result is None else None


def follows_record_changed(operation: OperationDefinitionNode) -> bool:
    """Whether the operation is a subscription to recordChanged alone (the lean path's kind)."""
    return _sole_root_field(operation) is not None


def _sole_root_field(operation: OperationDefinitionNode | None) -> FieldNode | None:
    if operation is None or operation.operation.value != "subscription":
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    root = selections[0]
    return root if root.name.value == ROOT_FIELD and not root.directives else None


def _variables_in(root: FieldNode, document: DocumentNode) -> set[str]:
    """The variables the payload can depend on: all but those used only in the root field's arguments."""
    fragments = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
    return {
        node.name.value
        for node in ast_nodes(root.selection_set, *fragments)
        if isinstance(node, VariableNode)
    }
