"""GraphQL over HTTP (aurum.graphql.responses): application/graphql-response+json with the spec's status
codes for the clients that accept it, application/json as before for the others; a GET query's answer is
private, revalidated with its ETag, and nothing else a GET answers is kept."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from aurum.graphql.responses import matches, request_error_status, wants_graphql_response
from aurum.resources import Resources
from aurum.settings import Settings
from tests.apollo import APOLLO_CLIENT_4_ACCEPT, persisted
from tests.support import GraphQLClient
from tests.test_realtime import app_server

GRAPHQL_RESPONSE = "application/graphql-response+json"
TOO_COMPLEX = (  # 10^10 objects it could return: absurd for the compiled path's ceiling too
    "{ tasks(first: 100) { nodes { project { area { pillar { areas(first: 100) { nodes { projects(first: 100)"
    " { nodes { tasks(first: 100) { nodes { subtasks(first: 100) { nodes { id } } } } } } } } } } } } } }"
)


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/*", False),
        (GRAPHQL_RESPONSE, True),
        (APOLLO_CLIENT_4_ACCEPT, True),
        ("Application/GraphQL-Response+JSON; charset=utf-8", True),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", False),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", False),
        (f"{GRAPHQL_RESPONSE};q=0.8, */*;q=0.1", True),
        (f"{GRAPHQL_RESPONSE};q=bad", False),
    ],
)
def test_the_graphql_response_media_type_is_chosen_when_the_client_prefers_it(
    accept: str | None, wanted: bool
) -> None:
    assert wants_graphql_response(accept) is wanted


def test_a_request_error_is_one_refused_before_anything_ran() -> None:
    def error(code: str, **more: Any) -> dict[str, Any]:
        return {"message": "m", "extensions": {"code": code}, **more}

    assert request_error_status({"data": None, "errors": [error("GRAPHQL_VALIDATION_FAILED")]}) == 400
    assert request_error_status({"data": None, "errors": [error("UNAUTHENTICATED")]}) == 401
    assert request_error_status({"data": None, "errors": [error("RATE_LIMITED")]}) == 429
    assert request_error_status({"data": None, "errors": [error("PERSISTED_QUERY_NOT_FOUND")]}) == 404
    assert request_error_status({"data": None, "errors": [error("BAD_USER_INPUT", path=["nodes"])]}) is None
    assert request_error_status({"data": {"a": None}, "errors": [error("FORBIDDEN")]}) is None
    assert request_error_status({"data": None, "errors": [error("OPERATION_TIMEOUT")]}) is None
    assert request_error_status({"data": {"a": 1}}) is None


def test_if_none_match_compares_weakly() -> None:
    assert matches('"a", W/"b"', '"b"')
    assert matches("*", '"b"')
    assert not matches('"a"', '"b"')
    assert not matches(None, '"b"')


async def post(client: GraphQLClient, body: dict[str, Any], accept: str | None) -> httpx.Response:
    headers = {"accept": accept} if accept else {}
    if client.token:
        headers["authorization"] = f"Bearer {client.token}"
    return await client.http.post("/graphql", json=body, headers=headers)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body["errors"]]


REQUEST_ERRORS = [
    ({"query": "{ viewer { nosuchfield } }"}, 400, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "{ viewer { id }"}, 400, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": TOO_COMPLEX}, 400, "QUERY_TOO_COMPLEX"),
    ({"extensions": persisted("{ never { sent } }")}, 404, "PERSISTED_QUERY_NOT_FOUND"),
]


@pytest.mark.parametrize(("body", "status", "code"), REQUEST_ERRORS)
async def test_a_request_error_is_4xx_without_data_in_the_graphql_response_media_type(
    alice: GraphQLClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = await post(alice, body, APOLLO_CLIENT_4_ACCEPT)
    assert response.status_code == status
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in response.json()
    assert codes(response.json()) == [code]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
@pytest.mark.parametrize(("body", "status", "code"), REQUEST_ERRORS)
async def test_other_clients_get_json_and_200_as_before(
    alice: GraphQLClient, body: dict[str, Any], status: int, code: str, accept: str | None
) -> None:
    response = await post(alice, body, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None
    assert codes(response.json()) == [code]


async def test_signing_in_is_401_with_a_challenge(anonymous: GraphQLClient) -> None:
    response = await post(anonymous, {"query": "{ viewer { id } }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    legacy = await post(anonymous, {"query": "{ viewer { id } }"}, None)
    assert (legacy.status_code, codes(legacy.json())) == (200, ["UNAUTHENTICATED"])


async def test_a_response_that_ran_is_200_field_errors_and_all(alice: GraphQLClient) -> None:
    ran = await post(alice, {"query": "{ viewer { id } }"}, GRAPHQL_RESPONSE)
    assert (ran.status_code, ran.json()) == (200, {"data": {"viewer": {"id": alice.user_id}}})
    assert ran.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    failed_field = {"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": [""]}}
    response = await post(alice, failed_field, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None  # the error reached the root: the data entry is there, null
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["nodes"]


async def test_requests_the_transport_refuses_keep_their_status_in_either_media_type(
    alice: GraphQLClient,
) -> None:
    for accept in (GRAPHQL_RESPONSE, None):
        missing = await post(alice, {"variables": {}}, accept)
        assert (missing.status_code, codes(missing.json())) == (400, ["BAD_REQUEST"])
        assert missing.headers["content-type"].startswith(GRAPHQL_RESPONSE if accept else "application/json")
    put = await alice.http.put("/graphql", json={"query": "{ __typename }"})
    assert (put.status_code, put.headers["allow"]) == (405, "GET, POST")


async def test_a_get_query_is_private_and_revalidated_by_its_etag(alice: GraphQLClient) -> None:
    document = "query Names { pillars { nodes { name } } }"
    headers = {"authorization": f"Bearer {alice.token}"}
    sent = {"query": document, "extensions": persisted(document)}
    assert (await alice.http.post("/graphql", json=sent, headers=headers)).status_code == 200  # kept
    params = {"operationName": "Names", "variables": "{}", "extensions": json.dumps(persisted(document))}
    first = await alice.http.get("/graphql", params=params, headers=headers)
    assert first.json() == {"data": {"pillars": {"nodes": []}}}
    assert first.headers["cache-control"] == "private, no-cache"
    assert first.headers["vary"] == "Accept, Authorization"
    tag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag), tag

    unchanged = await alice.http.get("/graphql", params=params, headers={**headers, "if-none-match": tag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == tag
    assert unchanged.headers["cache-control"] == "private, no-cache"

    await alice.mutate("pillarCreate", {"name": "Health"}, "pillar { id }")
    changed = await alice.http.get("/graphql", params=params, headers={**headers, "if-none-match": tag})
    assert changed.status_code == 200
    assert changed.json() == {"data": {"pillars": {"nodes": [{"name": "Health"}]}}}
    assert changed.headers["etag"] != tag


async def test_nothing_else_a_get_answers_is_kept(alice: GraphQLClient) -> None:
    headers = {"authorization": f"Bearer {alice.token}"}
    unknown = {"extensions": json.dumps(persisted("{ unknown }"))}
    for params in (
        unknown,
        {"query": "{ viewer { nosuchfield } }"},
        {"extensions": '{"persistedQuery": {"version": 3}}'},
        {"query": 'mutation { pillarCreate(input: {name: "x"}) { pillar { id } } }'},
    ):
        answer = await alice.http.get("/graphql", params=params, headers=headers)
        assert answer.headers["cache-control"] == "no-store", (params, answer.status_code)
        assert "etag" not in answer.headers


async def test_a_spent_budget_is_429(settings: Settings, resources: Resources, alice: GraphQLClient) -> None:
    async with (
        app_server(settings, resources, query_budget=100) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        client = GraphQLClient(http, alice.token)
        # The resolvers charge what a query could return (60 here); the compiled path, the rows it read.
        query = {"query": "{ pillars(first: 60) { totalCount } viewer { id } }"}
        statuses = [(await post(client, query, GRAPHQL_RESPONSE)).status_code for _ in range(5)]
        legacy = await post(client, query, None)
    # Across a minute's turn the budget lasts twice as long: still refused by the fifth.
    assert statuses[0] == 200
    assert statuses[-1] == 429
    assert set(statuses) == {200, 429}
    assert (legacy.status_code, codes(legacy.json())) == (200, ["RATE_LIMITED"])
