"""Schema extensions: the anonymous gate and the error formatting (stable codes, masked surprises)."""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from aurum.errors import DomainError, DomainErrors, ErrorCode

log = structlog.get_logger("aurum.graphql")

PUBLIC_FIELDS = frozenset(
    {
        "accountRegister",
        "tokenCreate",
        "tokenRefresh",
        "passwordResetRequest",
        "passwordReset",
        "__typename",
        "__schema",
        "__type",
    }
)


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


def _collect(selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], names: set[str]) -> None:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, names)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            _collect(fragments[selection.name.value].selection_set, fragments, names)


class ErrorFormatting(SchemaExtension):
    """Every error leaves with ``extensions.code``; unexpected ones are masked and logged with the request id."""

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
        extensions = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field  # type: ignore[assignment]
        return _with(error, original.message, extensions)
    if original is None or isinstance(original, GraphQLError):
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            extensions["code"] = _code_of_rejected_query(error)
        return _with(error, error.message, extensions)
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


def _code_of_rejected_query(error: GraphQLError) -> str:
    if isinstance(error, GraphQLSyntaxError) and "tokens" in error.message:
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
