"""The committed schema is the served schema, and every part of it is described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from aurum.graphql.schema import build_schema, schema_sdl
from aurum.settings import Settings


def test_committed_schema_is_current(settings: Settings, repo_root: Path) -> None:
    committed = (repo_root / "schema.graphql").read_text()
    assert committed == schema_sdl(settings), "schema.graphql is stale: run `make schema` and commit it"


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every type, field, input field and argument without a description, by its coordinate."""
    missing: list[str] = []
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        if not (named.description or "").strip():
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg_name}:)"
                    for arg_name, arg in field.args.items()
                    if not (arg.description or "").strip()
                ]
        elif isinstance(named, GraphQLInputObjectType):
            missing += [
                f"{name}.{f}" for f, field in named.fields.items() if not (field.description or "").strip()
            ]
    return missing


def test_everything_is_described(settings: Settings) -> None:
    schema = build_schema(settings)._schema
    named = [t for n, t in schema.type_map.items() if not n.startswith("__")]
    for kind in (GraphQLObjectType, GraphQLInputObjectType, GraphQLEnumType, GraphQLInterfaceType):
        assert any(isinstance(t, kind) for t in named), f"no {kind.__name__} in the schema"
    assert undescribed(schema) == []


def test_the_check_sees_a_missing_description(settings: Settings) -> None:
    schema = build_schema(settings)._schema
    pillars = schema.query_type.fields["pillars"]  # type: ignore[union-attr]
    first = pillars.args["first"]
    kept = first.description
    try:
        first.description = None
        assert "Query.pillars(first:)" in undescribed(schema)
    finally:
        first.description = kept
