"""What a request may cost (aurum.graphql.cost): the objects it can return, counted before it runs; over the
limit it is refused, and every request is charged to its user's budget per minute."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from graphql import parse

from aurum.graphql.cost import budget_key, request_cost
from aurum.graphql.schema import build_schema
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.support import GraphQLClient, uuid_of, wait_for
from tests.test_query_cost import seeded_user
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


async def test_a_request_for_the_resolvers_is_refused_by_what_it_could_return(alice: GraphQLClient) -> None:
    """The resolvers cannot stop half way: a document they answer is judged before it runs."""
    with_scores = HUNDREDS.replace("nodes { id name }", "nodes { id name score { value } }")
    body = await alice.execute(with_scores)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "smaller pages" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_a_compiled_read_is_judged_by_the_rows_it_reads(
    alice: GraphQLClient, settings: Settings, resources: Resources
) -> None:
    """A tree of pages of 100 could return 101,010,100 objects; for a small account it reads a few rows, and
    the compiled path answers it, where the resolvers refuse it (AURUM_COMPILED_READS=false)."""
    tree = (
        "{ pillars(first: 100) { nodes { areas(first: 100) { nodes { projects(first: 100) { nodes {"
        " tasks(first: 100) { nodes { id } } } } } } } } }"
    )
    assert cost(settings, tree) == 101_010_100
    assert (await alice.ok(tree))["pillars"]["nodes"] == []
    async with (
        app_server(settings, resources, compiled_reads=False) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        body = await GraphQLClient(http, alice.token).execute(tree)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_an_absurd_query_is_refused_whatever_the_data(alice: GraphQLClient, settings: Settings) -> None:
    deeper = HUNDREDS.replace("nodes { id name }", "nodes { id subtasks(first: 100) { nodes { id } } }")
    assert cost(settings, deeper) > settings.query_cost_ceiling
    body = await alice.execute(deeper)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_a_read_past_the_row_limit_stops(settings: Settings, resources: Resources) -> None:
    async with (
        app_server(settings, resources, max_query_rows=100) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        person = await seeded_user(http, resources, pillars=3)  # 60 tasks, 12 projects, 6 areas
        within = await person.execute("{ tasks(first: 100) { nodes { id } } }")
        assert len(within["data"]["tasks"]["nodes"]) == 60
        twice = "{ a: tasks(first: 100) { nodes { id } } b: tasks(first: 100) { nodes { id } } }"
        body = await person.execute(twice)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
        assert "more than 100 rows" in body["errors"][0]["message"]
        assert body["data"] is None


async def test_the_minute_budget_is_charged_the_rows_read(settings: Settings, resources: Resources) -> None:
    budget = 200
    page = "{ tasks(first: 100) { nodes { id } } }"  # could return 100 objects; reads 60 rows here
    async with (
        app_server(settings, resources, query_budget=budget) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        person = await seeded_user(http, resources, pillars=3)
        key = budget_key(uuid_of(person.user_id), time.time())
        await resources.redis.delete(key)
        answers = [await person.execute(page) for _ in range(6)]

        async def spent() -> int:
            return int(await resources.redis.get(key) or 0)

        # Charges travel after the answers, several requests' together (aurum.graphql.cost.Ledger).
        await wait_for(lambda: _reached(spent(), 4 * 60), "the charges to reach Redis")
        if budget_key(uuid_of(person.user_id), time.time()) != key:
            pytest.skip("the minute turned during the test")  # the counts restart with each minute
        # The fourth starts at 180 rows, within the budget; after it, 240 are past it.
        assert [bool(a.get("errors")) for a in answers] == [False] * 4 + [True] * 2
        assert answers[-1]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert await spent() == 4 * 60  # four reads of 60 rows (not 4 × 100); the refused ones read nothing
        bob = await register(http)
        assert (await bob.ok(page))["tasks"]["nodes"] == []


async def _reached(total: Awaitable[int], expected: int) -> bool:
    return await total >= expected
