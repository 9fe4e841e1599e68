"""Schema extensions: the anonymous gate and the error formatting (stable codes, masked surprises)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import structlog
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
)
from graphql.language.ast import QUERY_DOCUMENT_KEYS
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from aurum.errors import DomainError, DomainErrors, ErrorCode
from aurum.unavailable import MESSAGE, SERVICE_UNAVAILABLE, is_unavailable, reason

log = structlog.get_logger("aurum.graphql")

PUBLIC_FIELDS = frozenset(
    {
        "accountRegister",
        "tokenCreate",
        "tokenRefresh",
        "tokenRevoke",
        "tokenExchange",
        "passwordResetRequest",
        "passwordReset",
        "__typename",
        "__schema",
        "__type",
    }
)


class OperationChoice(SchemaExtension):
    """Runs the operation the GraphQL spec would: Strawberry runs the first of several operations when the
    request names none, where the spec (and graphql-core) refuse. A subscription needs a WebSocket."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.result is None and document is not None:
            problem = _unrunnable(ctx, document)
            if problem is not None:
                ctx.result = ExecutionResult(
                    data=None, errors=[GraphQLError(problem[1], extensions={"code": problem[0]})]
                )
        yield


def several_operations(count: int) -> str:
    """Why a document of several operations cannot run without a name (over HTTP and WebSocket alike)."""
    return f"The document has {count} operations: name one in 'operationName'"


def _unrunnable(ctx: ExecutionContext, document: DocumentNode) -> tuple[str, str] | None:
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    # Strawberry fills in the first operation's name when the request gave none; the request's own is private.
    named = ctx._provided_operation_name is not None
    if operations > 1 and not named:
        return "GRAPHQL_VALIDATION_FAILED", several_operations(operations)
    if ctx.operation_type is OperationType.SUBSCRIPTION and not isinstance(ctx.context.request, WebSocket):
        return "BAD_REQUEST", "Subscriptions are served over a WebSocket at /graphql (graphql-transport-ws)"
    return None


class AnonymousGate(SchemaExtension):
    """Anonymous callers reach only the sign-in mutations and introspection: nothing else even starts."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        if not context.is_authenticated and document is not None:
            fields = _root_fields(document.definitions, self.execution_context.operation_name)
            if not fields <= PUBLIC_FIELDS:
                message = context.auth_error or "Sign in to do this: send 'Authorization: Bearer <token>'"
                error = GraphQLError(message, extensions={"code": ErrorCode.UNAUTHENTICATED.value})
                self.execution_context.result = ExecutionResult(data=None, errors=[error])
        yield


def _root_fields(definitions: object, operation_name: str | None) -> set[str]:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]  # type: ignore[attr-defined]
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}  # type: ignore[attr-defined]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    names: set[str] = set()
    for operation in chosen[:1]:
        _collect(operation.selection_set, fragments, names)
    return names


def _collect(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], names: set[str]
) -> None:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, names)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            _collect(fragments[selection.name.value].selection_set, fragments, names)


class ScopeGate(SchemaExtension):
    """A read-only API key runs queries only: a mutation is refused before anything runs."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        principal = getattr(ctx.context, "principal", None)
        if (
            ctx.result is None
            and principal is not None
            and not principal.can_write
            and ctx.operation_type is OperationType.MUTATION
        ):
            error = GraphQLError(
                "This API key is read-only: mutations need a key with the WRITE scope",
                extensions={"code": ErrorCode.FORBIDDEN.value},
            )
            ctx.result = ExecutionResult(data=None, errors=[error])
        yield


class NulGuard(SchemaExtension):
    """PostgreSQL cannot store U+0000: text carrying it is the client's mistake, refused before it runs."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.result is None and (_has_nul(ctx.variables) or _has_nul_literal(ctx.graphql_document)):
            error = GraphQLError(
                "Text cannot contain the NUL character (U+0000)",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
            ctx.result = ExecutionResult(data=None, errors=[error])
        yield


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _has_nul_literal(document: DocumentNode | None) -> bool:
    return document is not None and any(
        isinstance(node, StringValueNode) and "\x00" in node.value for node in ast_nodes(document)
    )


def ast_nodes(*roots: Node | None) -> Iterator[Node]:
    """Every node under the roots, themselves included, in no particular order: a plain walk over the keys
    that hold nodes (a third of the time of graphql's visitor, which also wants a class per use)."""
    stack: list[Node] = [root for root in roots if root is not None]
    while stack:
        node = stack.pop()
        yield node
        for key in QUERY_DOCUMENT_KEYS.get(node.kind, ()):
            value = getattr(node, key, None)
            if isinstance(value, tuple | list):
                stack.extend(value)
            elif value is not None:
                stack.append(value)


class ErrorFormatting(SchemaExtension):
    """Every error leaves with ``extensions.code``; unexpected ones are masked, logged with the request id."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            request_id = getattr(self.execution_context.context, "request_id", None)
            result.errors = [format_error(e, request_id) for e in result.errors]


def format_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainErrors):
        original = original.errors[0]
    if isinstance(original, DomainError):
        extensions: dict[str, object] = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return _with(error, original.message, extensions)
    if original is None or isinstance(original, GraphQLError):
        extensions = dict[str, object](error.extensions or {})
        if "code" not in extensions:
            extensions["code"] = _code_of_rejected_query(error)
        return _with(error, error.message, extensions)
    if is_unavailable(original):
        return _unavailable(error, original, request_id)
    log.error(
        "unexpected error",
        request_id=request_id,
        path=error.path,
        exc_info=(type(original), original, original.__traceback__),
    )
    return GraphQLError(
        f"Internal server error (request id {request_id})",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


def _unavailable(error: GraphQLError, original: BaseException, request_id: str | None) -> GraphQLError:
    """Not a bug, so no traceback: one line saying what is down, and an answer saying to come back."""
    log.warning("dependency unavailable", request_id=request_id, path=error.path, reason=reason(original))
    return GraphQLError(
        MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": SERVICE_UNAVAILABLE, "requestId": request_id},
    )


TOO_MANY_TOKENS = re.compile(r"Syntax Error: Document contains more than \d+ tokens\. Parsing aborted\.")


def _code_of_rejected_query(error: GraphQLError) -> str:
    if isinstance(error, GraphQLSyntaxError) and TOO_MANY_TOKENS.fullmatch(error.message):
        return "QUERY_TOO_COMPLEX"
    return "GRAPHQL_VALIDATION_FAILED"


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
