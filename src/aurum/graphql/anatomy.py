"""What a document is made of, for walks that must cost linear time in its size.

A fragment that spreads the one below it twice doubles a naive walk's work at each level: 22 levels of that
fit in 900 bytes and expand to four million fields. So no walk here expands a fragment: fragments are put in
dependency order once per document, and a measure folds over them, each fragment measured once and its
measure reused wherever it is spread. Spreads of unknown fragments and of fragments in a cycle measure as
nothing here; validation reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.language.ast import QUERY_DOCUMENT_KEYS

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Anatomy:
    operations: tuple[OperationDefinitionNode, ...]
    fragments: Mapping[str, FragmentDefinitionNode]
    order: tuple[FragmentDefinitionNode, ...]
    """Every fragment after the fragments it spreads (the edges closing a cycle left out)."""

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation a request names, or the only one when it names none (as graphql-core chooses)."""
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        return next((o for o in self.operations if o.name is not None and o.name.value == name), None)

    def fold(self, measure: Callable[[FragmentDefinitionNode, Mapping[str, T]], T]) -> dict[str, T]:
        """Each fragment's measure, given the measures of the fragments it spreads."""
        measured: dict[str, T] = {}
        for fragment in self.order:
            measured[fragment.name.value] = measure(fragment, measured)
        return measured


def anatomy_of(document: DocumentNode) -> Anatomy:
    operations = tuple(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    return Anatomy(operations, fragments, _dependency_order(fragments))


def _dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> tuple[FragmentDefinitionNode, ...]:
    """A depth-first post-order over the spreads, iterative: a chain of a thousand fragments is no deeper
    for this walk than one fragment."""
    spreads = {
        name: [s for s in spread_names(f.selection_set) if s in fragments] for name, f in fragments.items()
    }
    done: set[str] = set()
    order: list[FragmentDefinitionNode] = []
    for root in fragments:
        if root in done:
            continue
        on_path = {root}
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
        while stack:
            name, pending = stack[-1]
            below = next((s for s in pending if s not in done and s not in on_path), None)
            if below is None:
                stack.pop()
                on_path.discard(name)
                done.add(name)
                order.append(fragments[name])
            else:
                on_path.add(below)
                stack.append((below, iter(spreads[below])))
    return tuple(order)


def spread_names(selections: SelectionSetNode) -> Iterator[str]:
    """The fragments spread anywhere in these selections, nested fields and inline fragments included."""
    stack = [selections]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)


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
