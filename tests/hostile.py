"""Hostile documents: small texts that a naive walk expands exponentially, or that graphql-core's
overlapping-fields rule compares quadratically. Shared by the tests and ``python -m bench hostile``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    make: Callable[[int], str]
    signed_in: bool  # whether it reaches past the anonymous gate only with a token


def _chain(levels: int, type_name: str, body: Callable[[int], str], leaf: str) -> list[str]:
    """Fragments F0 … F<levels>, each one's body spreading the next (F<levels> is the leaf)."""
    fragments = [f"fragment F{i} on {type_name} {{ {body(i + 1)} }}" for i in range(levels)]
    return [*fragments, f"fragment F{levels} on {type_name} {{ {leaf} }}"]


def named_fragments(levels: int) -> str:
    """Each fragment spreads the one below it twice: 2^levels fields once expanded."""
    return "\n".join(["{ ...F0 }", *_chain(levels, "Query", lambda n: f"...F{n} ...F{n}", "__typename")])


def inline_fragments(levels: int) -> str:
    """The same fan-out through inline fragments, with and without a type condition."""
    body = lambda n: f"... on Query {{ ...F{n} }} ... {{ ...F{n} }}"  # noqa: E731
    return "\n".join(["{ ...F0 }", *_chain(levels, "Query", body, "__typename")])


def directives(levels: int) -> str:
    """The same fan-out through spreads that carry @include and @skip."""
    body = lambda n: f"...F{n} @include(if: true) ...F{n} @skip(if: false)"  # noqa: E731
    return "\n".join(["{ ...F0 }", *_chain(levels, "Query", body, "__typename")])


def nested_lists(levels: int) -> str:
    """A fan-out in fragments on a type reached through nested lists, each level reading a list again."""
    body = lambda n: f"projects(first: 2) {{ nodes {{ id }} }} ...F{n} ...F{n}"  # noqa: E731
    root = "{ pillars(first: 2) { nodes { areas(first: 2) { nodes { ...F0 } } } } }"
    return "\n".join([root, *_chain(levels, "Area", body, "id")])


def repeated_fields(count: int) -> str:
    """The same field again and again: graphql-core compares every pair of them."""
    return "{" + " viewer { id displayName }" * count + " }"


FAMILIES = (
    Family("named fragments", named_fragments, signed_in=False),
    Family("inline fragments", inline_fragments, signed_in=False),
    Family("directives", directives, signed_in=False),
    Family("nested lists", nested_lists, signed_in=True),
    Family("repeated fields", repeated_fields, signed_in=True),
)


def unique(document: str) -> str:
    """The same document in a text no server has seen (so no cache of prepared documents answers it)."""
    return f"{document}\n# {uuid.uuid4().hex}"
