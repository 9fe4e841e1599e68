"""The shape limits of a document, checked in linear time before graphql-core validates it: how many
fields it expands to, how deep it goes, how many aliases it uses. Over any, ``QUERY_TOO_COMPLEX``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from aurum.graphql.anatomy import Anatomy, ast_nodes

TOO_COMPLEX = {"code": "QUERY_TOO_COMPLEX"}


@dataclass(frozen=True, slots=True)
class Limits:
    depth: int
    aliases: int
    fields: int
    """Fields once every fragment spread is replaced by its fragment's fields, nested spreads included."""


@dataclass(frozen=True, slots=True)
class Size:
    fields: int
    depth: int


NOTHING = Size(0, 0)


def size_of(selections: SelectionSetNode, fragments: Mapping[str, Size], cap: int) -> Size:
    """The expanded size of these selections (fields counted up to ``cap``: an exponential document's
    count is never computed in full), given the sizes of the fragments they spread."""
    fields = depth = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            below = NOTHING
            if selection.selection_set is not None:
                below = size_of(selection.selection_set, fragments, cap)
                depth = max(depth, below.depth + 1)
            fields += 1 + below.fields
        elif isinstance(selection, InlineFragmentNode):
            below = size_of(selection.selection_set, fragments, cap)
            fields, depth = fields + below.fields, max(depth, below.depth)
        elif isinstance(selection, FragmentSpreadNode):
            below = fragments.get(selection.name.value, NOTHING)
            fields, depth = fields + below.fields, max(depth, below.depth)
        fields = min(fields, cap)
    return Size(fields, depth)


def shape_errors(anatomy: Anatomy, limits: Limits) -> list[GraphQLError]:
    """Why the document is too large to validate or run; empty when it is within every limit."""
    cap = limits.fields + 1

    def measure(fragment: FragmentDefinitionNode, sizes: Mapping[str, Size]) -> Size:
        return size_of(fragment.selection_set, sizes, cap)

    sizes = anatomy.fold(measure)
    errors = [
        error
        for operation in anatomy.operations
        if (error := _operation_error(operation, size_of(operation.selection_set, sizes, cap), limits))
    ]
    aliases = sum(
        1
        for definition in (*anatomy.operations, *anatomy.fragments.values())
        for node in ast_nodes(definition.selection_set)
        if isinstance(node, FieldNode) and node.alias is not None
    )
    if aliases > limits.aliases:
        message = f"The query uses {aliases} aliases; the limit is {limits.aliases}"
        errors.append(GraphQLError(message, extensions=TOO_COMPLEX))
    return errors


def _operation_error(operation: OperationDefinitionNode, size: Size, limits: Limits) -> GraphQLError | None:
    if size.fields > limits.fields:
        message = (
            f"The query expands to more than {limits.fields:,} fields (each spread of a fragment counts its "
            "fields again): spread fewer fragments inside fragments"
        )
        return GraphQLError(message, operation, extensions=TOO_COMPLEX)
    if size.depth > limits.depth:
        message = f"The query is {size.depth} levels deep; the limit is {limits.depth}"
        return GraphQLError(message, operation, extensions=TOO_COMPLEX)
    return None
