"""The linear walks of a document (aurum.graphql.anatomy, limits, cost, the anonymous gate) agree with walks
that expand every fragment where it is spread, on documents generated over the real schema."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    is_object_type,
    parse,
    validate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aurum.graphql.anatomy import anatomy_of, spread_names
from aurum.graphql.cost import PAGE_CONTAINERS, Walk, _size, request_cost
from aurum.graphql.documents import CACHED_CHARACTERS
from aurum.graphql.extensions import root_fields
from aurum.graphql.limits import size_of
from aurum.graphql.schema import build_schema
from aurum.graphql.validation import validate_document
from aurum.settings import Settings
from tests.hostile import repeated_fields

DOCUMENTS = build_schema(Settings()).documents
SCHEMA: GraphQLSchema = DOCUMENTS.schema


def object_fields(type_: GraphQLObjectType) -> tuple[list[str], list[str]]:
    """The type's scalar fields and its fields of object types (the ones a generated document can nest)."""
    scalars, objects = [], []
    for name, field in type_.fields.items():
        named = get_named_type(field.type)
        if is_object_type(named):
            objects.append(name)
        elif not is_composite_type(named):
            scalars.append(name)
    return scalars, objects


KINDS = ["scalar", "object", "object", "fragment", "inline"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A query over the schema whose selections are spread through named and inline fragments, some spread
    in several places, some inside each other."""
    fragments: dict[str, tuple[str, str]] = {}  # name: (type, body)
    building: set[str] = set()  # fragments whose bodies are being drawn: spreading one would loop

    def selections(type_: GraphQLObjectType, depth: int) -> str:
        scalars, objects = object_fields(type_)
        parts = []
        for _ in range(draw(st.integers(1, 3))):
            first_at_root = depth == 0 and not parts
            kind = "object" if first_at_root else draw(st.sampled_from(KINDS))
            if kind == "object" and objects and depth < 4:
                name = draw(st.sampled_from(objects))
                field = type_.fields[name]
                args = (
                    f"(first: {draw(st.integers(1, 100))})"
                    if "first" in field.args and draw(st.booleans())
                    else ""
                )
                below = get_named_type(field.type)
                assert isinstance(below, GraphQLObjectType)
                parts.append(f"{name}{args} {{ {selections(below, depth + 1)} }}")
            elif kind == "fragment" and depth < 5:
                same_type = [n for n, (t, _) in fragments.items() if t == type_.name and n not in building]
                if same_type and draw(st.booleans()):
                    parts.append(f"...{draw(st.sampled_from(same_type))}")
                else:
                    name = f"F{len(fragments)}"
                    fragments[name] = (type_.name, "")
                    building.add(name)
                    fragments[name] = (type_.name, selections(type_, depth + 1))
                    building.discard(name)
                    parts.append(f"...{name}")
            elif kind == "inline" and depth < 5:
                condition = f"on {type_.name} " if draw(st.booleans()) else ""
                parts.append(f"... {condition}{{ {selections(type_, depth + 1)} }}")
            else:
                parts.append(draw(st.sampled_from(scalars or ["__typename"])))
        return " ".join(parts)

    query = SCHEMA.query_type
    assert query is not None
    root = selections(query, 0)
    definitions = [f"fragment {n} on {t} {{ {body} }}" for n, (t, body) in fragments.items()]
    return "\n".join([f"query {{ {root} }}", *draw(st.permutations(definitions))])


def expanded(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[int, int]:
    """Fields and depth by replacing every spread with its fragment, again and again."""
    fields = depth = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            below = expanded(selection.selection_set, fragments) if selection.selection_set else (0, -1)
            fields, depth = fields + 1 + below[0], max(depth, below[1] + 1)
        else:
            inner = (
                fragments[selection.name.value].selection_set
                if isinstance(selection, FragmentSpreadNode)
                else selection.selection_set
            )
            below = expanded(inner, fragments)
            fields, depth = fields + below[0], max(depth, below[1])
    return fields, depth


def expanded_cost(
    selections: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments: Mapping[str, FragmentDefinitionNode],
    rows: int,
) -> int:
    """The request's cost as it was counted before fragments were measured once: expanding each spread."""
    walk = Walk(SCHEMA, {}, {})
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            definition = getattr(parent, "fields", {}).get(selection.name.value)
            if definition is None or selection.selection_set is None:
                continue
            named = get_named_type(definition.type)
            if parent.name.endswith(PAGE_CONTAINERS):
                total += expanded_cost(selection.selection_set, named, fragments, rows)
            else:
                size = _size(selection, definition, walk)
                total += rows * size + expanded_cost(selection.selection_set, named, fragments, rows * size)
        elif isinstance(selection, InlineFragmentNode):
            below = (
                SCHEMA.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            )
            total += expanded_cost(selection.selection_set, below or parent, fragments, rows)
        else:
            fragment = fragments[selection.name.value]
            below = SCHEMA.get_type(fragment.type_condition.name.value)
            assert below is not None
            total += expanded_cost(fragment.selection_set, below, fragments, rows)
    return total


GENERATED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(documents())
def test_sizes_measured_once_per_fragment_are_the_expanded_sizes(text: str) -> None:
    anatomy = anatomy_of(parse(text))
    sizes = anatomy.fold(lambda f, measured: size_of(f.selection_set, measured, cap=10**9))
    operation = anatomy.operations[0]
    size = size_of(operation.selection_set, sizes, cap=10**9)
    assert (size.fields, size.depth) == expanded(operation.selection_set, anatomy.fragments)


@GENERATED
@given(documents())
def test_costs_measured_once_per_fragment_are_the_expanded_costs(text: str) -> None:
    anatomy = anatomy_of(parse(text))
    query = SCHEMA.query_type
    assert query is not None
    expected = expanded_cost(anatomy.operations[0].selection_set, query, anatomy.fragments, 1)
    assert expected > 0  # the root reads an object at least
    assert request_cost(SCHEMA, anatomy, None, {}) == expected


@GENERATED
@given(documents())
def test_fragments_come_after_the_fragments_they_spread(text: str) -> None:
    anatomy = anatomy_of(parse(text))
    placed: set[str] = set()
    for fragment in anatomy.order:
        assert set(spread_names(fragment.selection_set)) <= placed
        placed.add(fragment.name.value)
    assert placed == set(anatomy.fragments)


def test_cycles_and_unknown_fragments_measure_as_nothing_and_end() -> None:
    text = """{ ...A ...Missing }
      fragment A on Query { viewer { id } ...B }
      fragment B on Query { ...A __typename }
      fragment C on Query { ...C }"""
    anatomy = anatomy_of(parse(text))
    assert {f.name.value for f in anatomy.order} == {"A", "B", "C"}
    sizes = anatomy.fold(lambda f, measured: size_of(f.selection_set, measured, cap=100))
    assert size_of(anatomy.operations[0].selection_set, sizes, cap=100).fields in {3, 4}
    assert root_fields(anatomy, None) >= {"viewer", "__typename"}


def test_a_chain_of_thousands_of_fragments_is_no_deeper_for_the_walk() -> None:
    count = 5000
    chain = [f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(count)]
    anatomy = anatomy_of(
        parse("\n".join(["{ ...F0 }", *chain, f"fragment F{count} on Query {{ viewer {{ id }} }}"]))
    )
    assert len(anatomy.order) == count + 1
    assert root_fields(anatomy, None) == {"viewer"}


@pytest.mark.parametrize("cap", [10, 1000])
def test_an_exponential_count_stops_at_the_cap(cap: int) -> None:
    levels = 200
    chain = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    anatomy = anatomy_of(
        parse("\n".join(["{ ...F0 }", *chain, f"fragment F{levels} on Query {{ __typename }}"]))
    )
    sizes: dict[str, Any] = anatomy.fold(lambda f, measured: size_of(f.selection_set, measured, cap=cap))
    assert size_of(anatomy.operations[0].selection_set, sizes, cap=cap).fields == cap


async def test_a_valid_document_is_kept_from_its_second_coming_and_invalid_ones_never() -> None:
    documents = build_schema(Settings()).documents
    valid, invalid = "{ viewer { id } }", "{ viewer { nope } }"
    first = await documents.prepare(valid)
    assert documents.cached(valid) is None  # once could be a flood of unique texts
    second = await documents.prepare(valid)
    assert documents.cached(valid) is second is not first
    for _ in range(3):
        assert (await documents.prepare(invalid)).errors
    assert documents.cached(invalid) is None


async def test_the_same_new_text_at_once_is_prepared_once() -> None:
    documents = build_schema(Settings()).documents
    text = repeated_fields(15)
    prepared = await asyncio.gather(*(documents.prepare(text) for _ in range(10)))
    assert all(p is prepared[0] for p in prepared)


async def test_kept_documents_stay_within_their_weight() -> None:
    documents = build_schema(Settings()).documents
    padding = "# " + "-" * 20_000 + "\n"
    texts = [f"{padding}query Q{index} {{ __typename }}" for index in range(2 * CACHED_CHARACTERS // 20_000)]
    for text in texts:
        await documents.prepare(text)
        await documents.prepare(text)
    kept = list(documents._cache)
    assert CACHED_CHARACTERS - 20_100 < sum(map(len, kept)) <= CACHED_CHARACTERS
    assert kept == texts[-len(kept) :]  # the least recently used went first


@GENERATED
@given(documents(), st.sampled_from(["", "idd", "...Missing", "nope: __typename nope: id", "f(x: $v)"]))
def test_validation_without_garbage_finds_what_graphql_core_finds(text: str, slip: str) -> None:
    """aurum.graphql.validation replays graphql-core's validate: the same errors, in the same order."""
    document = parse(text.replace("{ ", "{ " + slip + " ", 1) if slip else text)
    rules = DOCUMENTS.rules
    mine = validate_document(SCHEMA, document, rules, hide_suggestions=False)
    theirs = validate(SCHEMA, document, rules)
    assert [(e.message, e.locations) for e in mine] == [(e.message, e.locations) for e in theirs]
    assert mine or not slip  # a slip is always an error
