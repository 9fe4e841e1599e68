"""Validation rules that refuse queries too deep or with too many aliases, before anything runs."""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

TOO_COMPLEX = {"code": "QUERY_TOO_COMPLEX"}


def depth_limit(maximum: int) -> type[ASTValidationRule]:
    class DepthLimit(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, 0, set())
            if depth > maximum:
                self.report_error(
                    GraphQLError(
                        f"The query is {depth} levels deep; the limit is {maximum}",
                        node,
                        extensions=TOO_COMPLEX,
                    )
                )

    return DepthLimit


def _depth(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    level: int,
    seen: set[str],
) -> int:
    if selections is None:
        return level
    deepest = level
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            below = level + 1 if selection.selection_set is not None else level
            deepest = max(deepest, _depth(selection.selection_set, fragments, below, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, level, seen))
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                deepest = max(
                    deepest, _depth(fragment.selection_set, fragments, level, seen | {fragment.name.value})
                )
    return deepest


def alias_limit(maximum: int) -> type[ASTValidationRule]:
    class AliasLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.count += 1
                if self.count == maximum + 1:
                    self.report_error(
                        GraphQLError(
                            f"The query uses more than {maximum} aliases", node, extensions=TOO_COMPLEX
                        )
                    )

    return AliasLimit
