"""What a request may cost (aurum.graphql.cost): the objects it can return, counted before it runs; over the
limit it is refused, and every request is charged to its user's budget per minute."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import parse

from aurum.graphql.cost import request_cost
from aurum.graphql.schema import build_schema
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.support import GraphQLClient
from tests.test_realtime import app_server

NESTED = """{ pillars(first: 5) { nodes { id name areas(first: 4) { nodes { id
  projects(first: 5) { edges { cursor node { id tasks(first: 20) { totalCount pageInfo { hasNextPage }
  nodes { id canStart } } } } } } } } } }"""
HUNDREDS = (
    "{ tasks(first: 100) { nodes { project { area { pillar { areas(first: 100) { nodes { projects(first: 100)"
    " { nodes { tasks(first: 100) { nodes { id name } } } } } } } } } } } }"
)


def cost(settings: Settings, document: str, variables: dict[str, Any] | None = None) -> int:
    schema = build_schema(settings)._schema
    return request_cost(schema, parse(document), None, variables or {})


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (NESTED, 5 + 5 * 4 + 20 * 5 + 100 * 20),  # pages count their rows; edges and nodes are the page
        ("{ viewer { id email } }", 1),
        ("{ pillars { totalCount } }", 50),  # no size: the default page
        ("{ today(limit: 3) { task { id } score { factors { ruleCode } } } }", 3 + 3 + 3 + 3 * 10),
        ('{ nodes(ids: ["a", "b"]) { id } }', 2),
        ("{ __schema { types { name } } }", 0),
        (HUNDREDS, 100 * 4 + 100 * 100 + 100**3 + 100**4),
    ],
)
def test_a_request_costs_the_objects_it_can_return(settings: Settings, document: str, expected: int) -> None:
    assert cost(settings, document) == expected


def test_sizes_left_out_take_the_operations_defaults(settings: Settings) -> None:
    document = (
        "query($n: Int = 3, $m: Int = 7)"
        " { pillars(first: $n) { nodes { areas(first: $m) { nodes { id } } } } }"
    )
    assert cost(settings, document) == 3 + 3 * 7
    assert cost(settings, document, {"m": 2}) == 3 + 3 * 2


def test_sizes_come_from_variables_and_fragments_count_where_they_are_spread(settings: Settings) -> None:
    document = """query($n: Int!) { pillars(first: $n) { nodes { ...P } } }
      fragment P on Pillar { areas(first: 2) { nodes {
        ... on Area { projects(first: 3) { nodes { id } } } } } }"""
    assert cost(settings, document, {"n": 4}) == 4 + 4 * 2 + 4 * 2 * 3


async def test_a_request_over_the_limit_is_refused_before_it_runs(alice: GraphQLClient) -> None:
    body = await alice.execute(HUNDREDS)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "smaller pages" in body["errors"][0]["message"]
    assert body.get("data") is None
    assert (await alice.ok("{ tasks(first: 100) { totalCount } }"))["tasks"]["totalCount"] == 0


async def test_a_user_past_the_minute_budget_is_rate_limited_and_others_are_not(
    alice: GraphQLClient, settings: Settings, resources: Resources
) -> None:
    budget = Settings.model_fields["query_budget"].default
    heavy = "{ pillars(first: 100) { nodes { areas(first: 100) { nodes { id } } } } }"  # 10,100 objects
    per_request = cost(settings, heavy)
    assert per_request <= settings.max_query_cost
    async with (
        app_server(settings, resources, query_budget=budget) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        user = GraphQLClient(http, alice.token)
        # Within one minute the budget lasts budget // cost requests; across a minute's turn, twice that.
        bound = 2 * (budget // per_request) + 2
        answers = [await user.execute(heavy) for _ in range(bound)]
        refused = [a for a in answers if a.get("errors")]
        assert refused, "never limited"
        assert {e["extensions"]["code"] for a in refused for e in a["errors"]} == {"RATE_LIMITED"}
        assert answers.index(refused[0]) >= budget // per_request  # not before the budget is spent
        bob = await register(http)
        assert (await bob.ok(heavy))["pillars"]["nodes"] == []
