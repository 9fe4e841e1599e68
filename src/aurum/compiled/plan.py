"""A query's selection planned once per document: what to read for each list and object, and how to write
each field of the answer, in the order graphql-core would write it.

Fields are collected as graphql-core collects them (fragments spread once per selection, inline fragments
and type conditions, ``@skip``/``@include`` with literal arguments), so response keys, merging and order are
the executor's. A selection that reaches anything the compiled path does not know, or a directive that
depends on a variable, plans to ``None``: the document runs on the resolvers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
)
from strawberry.types.field import StrawberryField

from aurum.compiled.entities import ENTITIES, ROOT_LISTS, Child, Entity, Leaf

Collected = dict[str, list[FieldNode]]


@dataclass(frozen=True, slots=True)
class Scalar:
    key: str
    leaf: Leaf


@dataclass(frozen=True, slots=True)
class Typename:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class Computed:
    """A field answered by a rule or a batched lookup: ``kind`` is its field name; ``parts`` the fields of a
    small object it answers (Progress, Recurrence), or ``plan`` the tasks it lists (blockedBy …)."""

    key: str
    kind: str
    parts: tuple[tuple[str, str], ...] = ()  # (response key, field name)
    plan: ObjectPlan | None = None


@dataclass(frozen=True, slots=True)
class Related:
    key: str
    column: str
    plan: ObjectPlan


@dataclass(frozen=True, slots=True)
class Nested:
    key: str
    plan: ConnectionPlan


FieldPlan = Scalar | Typename | Computed | Related | Nested


@dataclass(frozen=True)
class ObjectPlan:
    entity: Entity
    fields: tuple[FieldPlan, ...]
    columns: frozenset[str]


@dataclass(frozen=True)
class ConnectionPlan:
    """A list: its rows (filtered, ordered, paged by the field's arguments) and the parts asked of it."""

    entity: Entity
    definition: GraphQLField
    field: StrawberryField
    node: FieldNode  # where the arguments are
    child: Child | None  # how it hangs below its parent; None at the root
    parts: tuple[Part, ...]
    wants_cursors: bool


@dataclass(frozen=True, slots=True)
class Part:
    """One field of a connection: ``kind`` is totalCount, pageInfo, edges, nodes or __typename."""

    key: str
    kind: str
    typename: str  # of the connection (for __typename), of PageInfo or of the edge
    pieces: tuple[tuple[str, str], ...] = ()  # pageInfo's and edges' own fields: (response key, name)
    plans: tuple[ObjectPlan, ...] = ()  # the nodes' plan (edges: one per `node` key, in order)


@dataclass(frozen=True, slots=True)
class NodeRoot:
    """``node(id:)`` or ``nodes(ids:)``: a plan for each type an id may name."""

    key: str
    many: bool
    node: FieldNode
    definition: GraphQLField
    plans: Mapping[str, ObjectPlan]


RootPlan = Nested | NodeRoot | Typename


@dataclass(frozen=True)
class QueryPlan:
    fields: tuple[RootPlan, ...]


class Unplannable(Exception):
    """The selection needs something the compiled path does not do."""


class Planner:
    def __init__(self, schema: GraphQLSchema, fields_of: Any) -> None:
        self.schema = schema
        self.fields_of = fields_of  # (field name, type name) → the StrawberryField
        self.fragments: Mapping[str, FragmentDefinitionNode] = {}

    def plan(
        self, operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> QueryPlan | None:
        if operation.operation.value != "query":
            return None
        self.fragments = fragments
        query = self.schema.query_type
        assert query is not None
        try:
            collected = self._collect(query, [operation.selection_set])
            return QueryPlan(tuple(self._root(query, key, nodes) for key, nodes in collected.items()))
        except Unplannable:
            return None

    def collect(
        self, type_: GraphQLObjectType, nodes: Iterable[FieldNode | OperationDefinitionNode]
    ) -> Collected:
        """The fields the selections of ``nodes`` ask of an object of ``type_``, as graphql-core collects
        them (for aurum.compiled.creating)."""
        return self._collect(type_, [n.selection_set for n in nodes if n.selection_set])

    def object_plan(self, entity: Entity, nodes: Iterable[FieldNode]) -> ObjectPlan:
        return self._object(entity, nodes)

    def _root(self, query: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> RootPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return Typename(key, query.name)
        if name in ROOT_LISTS:
            return Nested(key, self._connection(query, name, nodes, ENTITIES[ROOT_LISTS[name]], None))
        if name in ("node", "nodes"):
            plans = {e.name: self._object(e, nodes) for e in ENTITIES.values()}
            return NodeRoot(key, name == "nodes", nodes[0], query.fields[name], plans)
        raise Unplannable(name)

    def _object(self, entity: Entity, nodes: Iterable[FieldNode]) -> ObjectPlan:
        type_ = self._type(entity.name)
        collected = self._collect(type_, [n.selection_set for n in nodes if n.selection_set])
        fields = tuple(self._field(entity, type_, key, group) for key, group in collected.items())
        columns = {"id"}
        for field in fields:
            if isinstance(field, Scalar):
                columns.update(field.leaf.columns)
            elif isinstance(field, Related):
                columns.add(field.column)
            elif isinstance(field, Computed):
                columns.update(COMPUTED_COLUMNS.get(field.kind, ()))
        return ObjectPlan(entity, fields, frozenset(columns))

    def _field(self, entity: Entity, type_: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return Typename(key, entity.name)
        if nodes[0].arguments and name not in entity.children:
            raise Unplannable(name)
        if name in entity.leaves:
            return Scalar(key, entity.leaves[name])
        if name in entity.relations:
            relation = entity.relations[name]
            return Related(key, relation.column, self._object(ENTITIES[relation.target], nodes))
        if name in entity.children:
            child = entity.children[name]
            return Nested(key, self._connection(type_, name, nodes, ENTITIES[child.target], child))
        if name in entity.computed:
            return self._computed(type_, key, name, nodes)
        raise Unplannable(name)

    def _computed(self, type_: GraphQLObjectType, key: str, name: str, nodes: list[FieldNode]) -> Computed:
        if name in ("blockedBy", "dependencies"):
            return Computed(key, name, plan=self._object(ENTITIES["Task"], nodes))
        if name in ("progress", "recurrence"):
            below = get_named_type(type_.fields[name].type)
            assert isinstance(below, GraphQLObjectType)
            collected = self._collect(below, [n.selection_set for n in nodes if n.selection_set])
            return Computed(key, name, parts=tuple((k, g[0].name.value) for k, g in collected.items()))
        return Computed(key, name)

    def _connection(
        self,
        parent: GraphQLObjectType,
        name: str,
        nodes: list[FieldNode],
        entity: Entity,
        child: Child | None,
    ) -> ConnectionPlan:
        definition = parent.fields[name]
        connection = get_named_type(definition.type)
        assert isinstance(connection, GraphQLObjectType)
        parts = tuple(
            self._part(connection, entity, key, group)
            for key, group in self._collect(
                connection, [n.selection_set for n in nodes if n.selection_set]
            ).items()
        )
        field = self.fields_of(name, parent.name)
        if field is None:
            raise Unplannable(name)
        wants = any(p.kind == "edges" and any(n == "cursor" for _, n in p.pieces) for p in parts) or any(
            p.kind == "pageInfo" and any(n in ("startCursor", "endCursor") for _, n in p.pieces)
            for p in parts
        )
        return ConnectionPlan(entity, definition, field, nodes[0], child, parts, wants)

    def _part(self, connection: GraphQLObjectType, entity: Entity, key: str, nodes: list[FieldNode]) -> Part:
        name = nodes[0].name.value
        if name in ("totalCount", "__typename"):
            return Part(key, name, connection.name)
        below = get_named_type(connection.fields[name].type)
        assert isinstance(below, GraphQLObjectType)
        if name == "nodes":
            return Part(key, name, below.name, plans=(self._object(entity, nodes),))
        collected = self._collect(below, [n.selection_set for n in nodes if n.selection_set])
        pieces = tuple((k, g[0].name.value) for k, g in collected.items())
        if name == "pageInfo":
            return Part(key, name, below.name, pieces=pieces)
        # edges: each `node` key of the edge gets its own plan
        plans = tuple(self._object(entity, g) for g in collected.values() if g[0].name.value == "node")
        return Part(key, name, below.name, pieces=pieces, plans=plans)

    def _type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def _collect(self, type_: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]) -> Collected:
        """graphql-core's field collection for an object of ``type_``, from these selection sets."""
        collected: Collected = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect_into(collected, visited, type_, selection_set)
        return collected

    def _collect_into(
        self, collected: Collected, visited: set[str], type_: GraphQLObjectType, selections: SelectionSetNode
    ) -> None:
        for selection in selections.selections:
            if not _included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                collected.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, type_):
                    self._collect_into(collected, visited, type_, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, type_):
                    self._collect_into(collected, visited, type_, fragment.selection_set)

    def _applies(self, condition: NamedTypeNode | None, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = self.schema.get_type(condition.name.value)
        if named is type_:
            return True
        return is_abstract_type(named) and self.schema.is_sub_type(named, type_)


CURSORS = frozenset({"cursor", "startCursor", "endCursor"})  # fields of edges and pageInfo
COMPUTED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "isOverdue": ("status", "due_date", "due_time"),
    "recurrence": (
        "recurrence_frequency",
        "recurrence_interval",
        "recurrence_weekdays",
        "recurrence_month_day",
        "recurrence_end_date",
        "recurrence_count",
    ),
}


def _included(selection: Any) -> bool:
    """Whether @skip/@include keep the selection; a directive that is neither, or that reads a variable,
    makes the document one for the resolvers."""
    for directive in selection.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            raise Unplannable(f"@{name}")
        [argument] = directive.arguments
        if not isinstance(argument.value, BooleanValueNode):
            raise Unplannable(f"@{name} with a variable")
        if argument.value.value is (name == "skip"):
            return False
    return True
