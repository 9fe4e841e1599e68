"""Real engines for the whole suite: PostgreSQL and Redis (embedded, or from AURUM_TEST_*_URL) and a real
uvicorn server on loopback, spoken to over HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aurum.app import build_app
from aurum.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from aurum.migrate import upgrade
from aurum.resources import Resources, open_resources
from aurum.settings import Settings
from tests.support import GraphQLClient, StatementCounter, wait_for

TEST_DATABASE = "aurum_test"


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    started: list[tuple[Any, Any]] = []
    database_url = os.environ.get("AURUM_TEST_DATABASE_URL")
    redis_url = os.environ.get("AURUM_TEST_REDIS_URL")
    if not database_url:
        server, database_url = start_postgres(tmp_path_factory.mktemp("pg"), TEST_DATABASE)
        started.append((stop_postgres, server))
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
    if not redis_url:
        redis_server, redis_url = start_redis(tmp_path_factory.mktemp("redis"))
        started.append((stop_redis, redis_server))
    yield database_url, redis_url
    for stop, server in reversed(started):
        stop(server)


@pytest.fixture(scope="session")
def settings(engine_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database_url, redis_url = engine_urls
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key="test-secret-key-that-is-long-enough-0123456789",
    )


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    assert settings.database_url is not None
    await upgrade(settings.database_url)
    async with open_resources(settings) as opened:
        yield opened


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
async def server_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        build_app(settings, resources, run_worker=True),
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, "the test server to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def http(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        yield client


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


async def register(http: httpx.AsyncClient, timezone: str = "UTC") -> GraphQLClient:
    client = GraphQLClient(http)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    data = await client.ok(
        """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
             accessToken user { id } userErrors { message } } }""",
        {"input": {"email": email, "password": "correct horse battery", "timezone": timezone}},
    )
    payload = data["accountRegister"]
    assert payload["userErrors"] == [], payload
    client.token = payload["accessToken"]
    client.email = email
    client.user_id = payload["user"]["id"]
    return client


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> GraphQLClient:
    return await register(http)


@pytest.fixture
async def bob(http: httpx.AsyncClient) -> GraphQLClient:
    return await register(http)


@pytest.fixture
def statements(resources: Resources) -> Iterator[StatementCounter]:
    with StatementCounter(resources.engine) as counter:
        yield counter


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
