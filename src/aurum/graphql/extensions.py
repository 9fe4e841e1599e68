"""Schema extensions: the anonymous gate and the error formatting (stable codes, masked surprises)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import structlog
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
)
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from aurum.errors import DomainError, DomainErrors, ErrorCode
from aurum.graphql.anatomy import Anatomy, ast_nodes
from aurum.graphql.documents import anatomy_for, prepared_for
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


def operation_timeout(seconds: float) -> GraphQLError:
    message = (
        f"The request took more than {seconds:g} s and was stopped: ask for less at once "
        "(a mutation's changes are kept whole or not at all)"
    )
    return GraphQLError(message, extensions={"code": "OPERATION_TIMEOUT"})


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
        ctx = self.execution_context
        anonymous = not ctx.context.is_authenticated and ctx.graphql_document is not None
        if anonymous and not root_fields(anatomy_for(ctx), ctx.operation_name) <= PUBLIC_FIELDS:
            message = ctx.context.auth_error or "Sign in to do this: send 'Authorization: Bearer <token>'"
            error = GraphQLError(message, extensions={"code": ErrorCode.UNAUTHENTICATED.value})
            ctx.result = ExecutionResult(data=None, errors=[error])
        yield


def root_fields(anatomy: Anatomy, operation_name: str | None) -> frozenset[str]:
    """The names of the fields at the root of the operation, through its fragments (each looked at once)."""
    operation = anatomy.operation(operation_name)
    if operation is None:
        return frozenset()

    def fields(fragment: FragmentDefinitionNode, measured: Mapping[str, frozenset[str]]) -> frozenset[str]:
        return _top_fields(fragment.selection_set, measured)

    return _top_fields(operation.selection_set, anatomy.fold(fields))


def _top_fields(selections: SelectionSetNode, fragments: Mapping[str, frozenset[str]]) -> frozenset[str]:
    names: set[str] = set()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names |= _top_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            names |= fragments.get(selection.name.value, frozenset())
    return frozenset(names)


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
        if ctx.result is None and (has_nul(ctx.variables) or _has_nul_literal(ctx)):
            error = GraphQLError(
                "Text cannot contain the NUL character (U+0000)",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
            ctx.result = ExecutionResult(data=None, errors=[error])
        yield


def has_nul(value: object) -> bool:
    """Whether text anywhere in ``value`` (the request's variables) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def _has_nul_literal(ctx: ExecutionContext) -> bool:
    prepared = prepared_for(ctx)
    if prepared is not None:
        return prepared.nul_literal
    return ctx.graphql_document is not None and any(
        isinstance(node, StringValueNode) and "\x00" in node.value for node in ast_nodes(ctx.graphql_document)
    )


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
            extensions["code"] = rejected_query_code(error)
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


def rejected_query_code(error: GraphQLError) -> str:
    """The code of an error graphql-core found in the document: too many tokens is too complex."""
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
