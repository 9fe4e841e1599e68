"""Rejected queries carry stable codes, never a 500 or a traceback; surprises are masked with a request id."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import structlog
from graphql import GraphQLError

from aurum.graphql.extensions import format_error
from aurum.resources import Resources
from aurum.settings import Environment, Settings
from tests.conftest import register
from tests.support import GraphQLClient
from tests.test_realtime import app_server
from tests.ws import signed_in

LEAKS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "site-packages")


def assert_clean(response: httpx.Response) -> dict[str, Any]:
    """Not a server failure, JSON with errors, and nothing of the server's insides in it."""
    assert response.status_code < 500, response.text
    for leak in LEAKS:
        assert leak not in response.text, response.text
    body: dict[str, Any] = response.json()
    assert body.get("errors"), body
    for error in body["errors"]:
        assert set(error.get("extensions", {})) <= {"code", "field", "requestId"}, error
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body["errors"]]


def nested_parents(levels: int) -> str:
    """A valid query whose depth is ``2 + levels`` (tasks → nodes → parent, levels times)."""
    inner = "id"
    for _ in range(levels):
        inner = f"parent {{ {inner} }}"
    return f"{{ tasks(first: 1) {{ nodes {{ {inner} }} }} }}"


async def test_a_query_at_the_depth_limit_runs(alice: GraphQLClient, settings: Settings) -> None:
    data = await alice.ok(nested_parents(settings.max_query_depth - 2))
    assert data == {"tasks": {"nodes": []}}


async def test_a_query_deeper_than_the_limit_is_too_complex(alice: GraphQLClient, settings: Settings) -> None:
    body = assert_clean(await alice.post(nested_parents(settings.max_query_depth - 1)))
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body.get("data") is None


async def test_depth_through_fragments_counts(alice: GraphQLClient, settings: Settings) -> None:
    inner = "id"
    for _ in range(settings.max_query_depth):
        inner = f"parent {{ {inner} }}"
    query = f"{{ tasks {{ ...Deep }} }} fragment Deep on TaskConnection {{ nodes {{ {inner} }} }}"
    body = assert_clean(await alice.post(query))
    assert "QUERY_TOO_COMPLEX" in codes(body)


async def test_aliases_at_the_limit_run(alice: GraphQLClient, settings: Settings) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(settings.max_aliases))
    data = await alice.ok(f"{{ {aliases} }}")
    assert len(data) == settings.max_aliases


async def test_more_aliases_than_the_limit_are_too_complex(alice: GraphQLClient, settings: Settings) -> None:
    aliases = " ".join(f"a{i}: viewer {{ id }}" for i in range(settings.max_aliases + 1))
    body = assert_clean(await alice.post(f"{{ {aliases} }}"))
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body.get("data") is None


def status_list_query(count: int) -> str:
    """A valid query of ``count + 16`` tokens."""
    return f"{{ tasks(filter: {{status: [{' '.join(['TODO'] * count)}]}}) {{ totalCount }} }}"


async def test_a_query_under_the_token_limit_runs(alice: GraphQLClient, settings: Settings) -> None:
    data = await alice.ok(status_list_query(settings.max_tokens - 16))
    assert data == {"tasks": {"totalCount": 0}}


async def test_more_tokens_than_the_limit_are_too_complex(alice: GraphQLClient, settings: Settings) -> None:
    body = assert_clean(await alice.post(status_list_query(settings.max_tokens)))
    assert codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_the_token_limit_applies_to_anonymous_callers(
    anonymous: GraphQLClient, settings: Settings
) -> None:
    body = assert_clean(await anonymous.post("{ " + "__typename " * (settings.max_tokens + 1) + "}"))
    assert codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_an_unknown_field_fails_validation(alice: GraphQLClient) -> None:
    body = assert_clean(await alice.post("{ viewer { id shoeSize } }"))
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_syntax_error_fails_validation(alice: GraphQLClient) -> None:
    body = assert_clean(await alice.post("{ viewer { id }"))
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_syntax_error_naming_tokens_is_not_too_complex(alice: GraphQLClient) -> None:
    # The word "tokens" in the offending text must not make a plain syntax error look like a size limit.
    body = assert_clean(await alice.post("{ viewer { id } } tokens"))
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_wrongly_typed_variable_fails_validation(alice: GraphQLClient) -> None:
    body = assert_clean(
        await alice.post("query($n: Int) { pillars(first: $n) { totalCount } }", {"n": "ten"})
    )
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_page_sizes_outside_1_to_100_are_bad_user_input(alice: GraphQLClient) -> None:
    for arguments in ("first: 101", "last: 101", "first: 0", "first: -1"):
        body = assert_clean(await alice.post(f"{{ pillars({arguments}) {{ totalCount }} }}"))
        assert codes(body) == ["BAD_USER_INPUT"], arguments
    assert (await alice.ok("{ pillars(first: 100) { totalCount } }"))["pillars"]["totalCount"] == 0


async def test_a_nested_page_size_of_101_is_bad_user_input(alice: GraphQLClient) -> None:
    created = await alice.mutate("pillarCreate", {"name": "Health"}, "pillar { id }")
    assert created["userErrors"] == []
    body = assert_clean(await alice.post("{ pillars { nodes { areas(first: 101) { totalCount } } } }"))
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_a_garbage_cursor_is_bad_user_input(alice: GraphQLClient) -> None:
    body = assert_clean(await alice.post('{ pillars(after: "not a cursor") { totalCount } }'))
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_a_forged_cursor_with_values_out_of_range_is_bad_user_input(alice: GraphQLClient) -> None:
    await alice.mutate("pillarCreate", {"name": "Health"}, "pillar { id }")
    page = await alice.ok("{ pillars(first: 1) { edges { cursor } } }")
    cursor = page["pillars"]["edges"][0]["cursor"]
    name, values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(values[0], int)  # sort order first
    for first in (2**64, -(2**63) - 1, 1.5, True, "1", None, "\x00"):
        forged = base64.urlsafe_b64encode(json.dumps([name, [first, *values[1:]]]).encode()).decode()
        body = assert_clean(
            await alice.post("query($c: String!) { pillars(after: $c) { totalCount } }", {"c": forged})
        )
        assert codes(body) == ["BAD_USER_INPUT"], first


async def test_nul_characters_in_text_are_bad_user_input(alice: GraphQLClient) -> None:
    # PostgreSQL cannot store U+0000; that must be the client's error, not an internal one.
    mutation = "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id } } }"
    body = assert_clean(await alice.post(mutation, {"input": {"name": "a\u0000b"}}))
    assert codes(body) == ["BAD_USER_INPUT"]
    body = assert_clean(await alice.post('{ pillars(filter: {search: "a\\u0000b"}) { totalCount } }'))
    assert codes(body) == ["BAD_USER_INPUT"]
    assert (await alice.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 0


async def test_nul_characters_in_sign_in_are_bad_user_input(anonymous: GraphQLClient) -> None:
    mutation = "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken } }"
    body = assert_clean(
        await anonymous.post(
            mutation, {"input": {"email": "a\u0000@example.com", "password": "correct horse"}}
        )
    )
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_graphql_responses_carry_a_request_id(alice: GraphQLClient, anonymous: GraphQLClient) -> None:
    for response in (
        await alice.post("{ viewer { id } }"),
        await anonymous.post("{ viewer { id } }"),
        await alice.post("{ nope }"),
    ):
        assert response.headers.get("x-request-id"), response.headers


async def test_a_sane_client_request_id_is_kept_and_others_replaced(http: httpx.AsyncClient) -> None:
    query = {"query": "{ __typename }"}
    response = await http.post("/graphql", json=query, headers={"x-request-id": "abcDEF1234567890"})
    assert response.headers["x-request-id"] == "abcDEF1234567890"
    response = await http.post("/graphql", json=query, headers={"x-request-id": "bad id!"})
    assert response.headers["x-request-id"] not in {"", "bad id!"}
    assert response.headers["x-request-id"].isalnum()


def test_unexpected_errors_are_masked_with_the_request_id() -> None:
    original = RuntimeError("password=hunter2 leaked from deep inside")
    error = GraphQLError("password=hunter2 leaked from deep inside", path=["viewer"], original_error=original)
    with structlog.testing.capture_logs() as logs:
        formatted = format_error(error, "req0123456789")
    assert "req0123456789" in formatted.message
    assert "hunter2" not in formatted.message
    assert formatted.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req0123456789"}
    assert formatted.path == ["viewer"]
    assert "hunter2" not in str(formatted.formatted)
    assert [entry.get("request_id") for entry in logs if entry["log_level"] == "error"] == ["req0123456789"]
    logged = next(entry for entry in logs if entry["log_level"] == "error")
    assert logged["exc_info"][1] is original


def test_expected_errors_keep_their_message_and_code() -> None:
    from aurum.errors import NotFound

    error = GraphQLError("ignored", path=["node"], original_error=NotFound("No Task with this id", ["id"]))
    with structlog.testing.capture_logs() as logs:
        formatted = format_error(error, "req0123456789")
    assert formatted.message == "No Task with this id"
    assert formatted.extensions == {"code": "NOT_FOUND", "field": ["id"]}
    assert not [entry for entry in logs if entry["log_level"] == "error"]


# ---- the request itself ------------------------------------------------------------------------------------


async def test_a_body_that_is_not_a_json_object_is_a_bad_request(alice: GraphQLClient) -> None:
    headers = {"authorization": f"Bearer {alice.token}", "content-type": "application/json"}
    for body in (b'"hello"', b"null", b"123", b"true", b"{not json"):
        response = await alice.http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, body
        assert codes(assert_clean(response)) == ["BAD_REQUEST"], body
    # The connection is still good for the next request.
    assert (await alice.ok("{ __typename }")) == {"__typename": "Query"}


async def test_request_errors_are_graphql_errors_with_a_code(alice: GraphQLClient) -> None:
    headers = {"authorization": f"Bearer {alice.token}"}
    cases = [
        ({"query": "query A { __typename }", "operationName": "Z"}, 400, "BAD_REQUEST"),
        ({"query": None}, 400, "BAD_REQUEST"),
        ({"query": "{ __typename }", "variables": [1]}, 400, "BAD_REQUEST"),
    ]
    for body, status, code in cases:
        response = await alice.http.post("/graphql", json=body, headers=headers)
        assert (response.status_code, codes(assert_clean(response))) == (status, [code]), body
    response = await alice.http.put("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    anonymous: GraphQLClient, settings: Settings
) -> None:
    padding = "x" * settings.max_request_bytes
    response = await anonymous.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"p": padding}}
    )
    assert response.status_code == 413
    assert codes(assert_clean(response)) == ["PAYLOAD_TOO_LARGE"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"query": "{ __typename }", "variables": {"p": "'
        for _ in range(settings.max_request_bytes // 65536 + 1):
            yield b"x" * 65536
        yield b'"}}'

    headers = {"content-type": "application/json"}
    response = await anonymous.http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert codes(assert_clean(response)) == ["PAYLOAD_TOO_LARGE"]
    fits = await anonymous.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"p": "x" * 1000}}
    )
    assert fits.json() == {"data": {"__typename": "Query"}}


async def test_several_operations_need_an_operation_name(alice: GraphQLClient) -> None:
    document = (
        'mutation Make { pillarCreate(input: {name: "Sneaky"}) { pillar { id } } }'
        " query Count { pillars { totalCount } }"
    )
    assert await alice.error_codes(document) == ["GRAPHQL_VALIDATION_FAILED"]
    assert (await alice.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 0
    headers = {"authorization": f"Bearer {alice.token}"}
    chosen = {"query": document, "operationName": "Count"}
    assert (await alice.http.post("/graphql", json=chosen, headers=headers)).json() == {
        "data": {"pillars": {"totalCount": 0}}
    }


async def test_a_subscription_over_http_is_a_bad_request(alice: GraphQLClient) -> None:
    assert await alice.error_codes("subscription { notificationCreated { id } }") == ["BAD_REQUEST"]


async def test_a_malformed_id_among_several_names_its_place_and_is_not_echoed_whole(
    alice: GraphQLClient,
) -> None:
    body = assert_clean(
        await alice.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["", "x" * 5000]})
    )
    errors = body["errors"]
    assert {tuple(e["extensions"]["field"]) for e in errors} <= {("ids", "0"), ("ids", "1")}
    assert all(e["extensions"]["code"] == "BAD_USER_INPUT" and len(e["message"]) < 120 for e in errors)


SUGGESTING = [
    ("{ viewr { id } }", None),
    ("{ viewer { emial } }", None),
    ("{ tasks(filtr: {}) { totalCount } }", None),
    ("{ tasks(filter: {status: [TOD]}) { totalCount } }", None),
    ("query($s: [TaskStatus!]) { tasks(filter: {status: $s}) { totalCount } }", {"s": ["TOD"]}),
]


SUBSCRIBING = [
    ("subscription($t: [EntityType!]) { recordChanged(entityTypes: $t) { cursor } }", {"t": ["TASKK"]}),
    ("subscription { insightCreated { titel } }", None),
    (  # a directive on the root field: Strawberry's own path, not the lean one
        "subscription($t: [EntityType!]) { recordChanged(entityTypes: $t) @include(if: true) { cursor } }",
        {"t": ["TASKK"]},
    ),
    ("subscription { notificationCreatd { id } }", None),
]


async def suggestions(url: str, person: GraphQLClient) -> list[str]:
    found = []
    for document, variables in SUGGESTING:
        body = assert_clean(await person.post(document, variables))
        found += [e["message"] for e in body["errors"] if "Did you mean" in e["message"]]
    async with signed_in(url, person.token or "") as ws:
        for document, variables in SUBSCRIBING:
            operation = await ws.subscribe(document, variables)
            message = await ws.receive()
            assert (message["id"], message["type"]) == (operation, "error"), message
            found += [e["message"] for e in message["payload"] if "Did you mean" in e["message"]]
    return found


async def test_production_suggests_no_names_of_its_schema(settings: Settings, resources: Resources) -> None:
    """With introspection off, "Did you mean 'viewer'?" would hand out the schema one typo at a time."""
    for env, suggesting in ((Environment.DEVELOPMENT, True), (Environment.PRODUCTION, False)):
        async with app_server(settings, resources, env=env) as url, httpx.AsyncClient(base_url=url) as http:
            person = await register(http)
            assert bool(await suggestions(url, person)) is suggesting, env
            if env is Environment.PRODUCTION:
                body = assert_clean(await person.post("{ __schema { types { name } } }"))
                assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
                assert "introspection" in body["errors"][0]["message"].lower()


async def test_a_failing_field_beside_shared_loads_is_an_error_not_a_500(alice: GraphQLClient) -> None:
    """Two aliases of one list load each pillar's progress once; when a field fails under one of them,
    graphql-core cancels its siblings, and the shared load must not be cancelled under the other alias."""
    for name in ("Health", "Work"):
        await alice.mutate("pillarCreate", {"name": name}, "pillar { id }")
    document = """{ pillars { a: edges { node { progress { totalTasks } areas(first: 1) { totalCount } } }
      edges { node { progress { totalTasks } areas(first: 0) { totalCount } } } } }"""
    body = assert_clean(await alice.post(document))  # the compiled path leaves the error to the resolvers
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"][-1] == "areas"
