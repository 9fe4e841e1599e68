"""Helpers for tests: a GraphQL client over HTTP, a SQL statement counter, waiting with a deadline."""

from __future__ import annotations

import asyncio
import random
import socket
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from uvicorn._types import ASGIApplication

from aurum.db import BACKGROUND
from aurum.ids import parse_global_id
from aurum.serving import server_config
from aurum.settings import Settings


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 10.0, interval: float = 0.01
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token
        self.email = ""
        self.user_id = ""
        self.refresh_token = ""
        # Each client signs in from an address of its own (the test server trusts X-Forwarded-For from
        # loopback: AURUM_TRUSTED_PROXIES in tests/conftest.py), so sign-in throttling of one test never
        # reaches another.
        self.address = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        sent = {"x-forwarded-for": self.address, **headers}
        if self.token:
            sent.setdefault("authorization", f"Bearer {self.token}")
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run and insist on no GraphQL errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def mutate(self, name: str, input: dict[str, Any], selection: str) -> dict[str, Any]:
        """Run ``name(input:)`` and return its payload."""
        input_type = name[0].upper() + name[1:] + "Input"
        data = await self.ok(
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} "
            "userErrors { field message code } } }",
            {"input": input},
        )
        payload: dict[str, Any] = data[name]
        return payload

    async def error_codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        body = await self.execute(query, variables)
        return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


class StatementCounter:
    """Counts SQL statements sent while active: through SQLAlchemy, and straight through asyncpg on pooled
    connections (the compiled read path, the change log's readers), transaction control left out."""

    # The process's own background work (the unpublished-event sweep) is not part of any request.
    SWEEP = ("aurum_claim_unpublished_events",)
    CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START TRANSACTION")
    # asyncpg's own look at a type it meets first on a connection (an array of UUIDs, say), once per
    # connection and never again: the pool's, not a request's.
    DRIVER = ("WITH RECURSIVE typeinfo_tree", "current_setting('jit')", "set_config('jit'")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []
        self.listening: weakref.WeakSet[Any] = weakref.WeakSet()
        self.active = False

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._seen(statement)

    def _seen(self, statement: str) -> None:
        # Jobs (the scoring job after a write) and after-commit follow-ups are no request's cost either.
        text = statement.strip()
        if not self.active or not text or BACKGROUND.get() is not None:
            return
        if text.upper().startswith(self.CONTROL) or any(marker in text for marker in self.DRIVER):
            return
        if not any(marker in text for marker in self.SWEEP):
            self.statements.append(statement)

    def _checked_out(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        raw = dbapi_connection.driver_connection
        if raw not in self.listening:
            self.listening.add(raw)
            raw.add_query_logger(lambda logged: self._seen(logged.query))

    def __enter__(self) -> StatementCounter:
        self.active = True
        event.listen(self.engine, "before_cursor_execute", self._count)
        event.listen(self.engine, "checkout", self._checked_out)
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False  # the query loggers stay on their connections, silent
        event.remove(self.engine, "before_cursor_execute", self._count)
        event.remove(self.engine, "checkout", self._checked_out)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


def uuid_of(global_id: str, type_name: str = "User") -> uuid.UUID:
    """The UUID inside a global id of ``type_name``."""
    parsed = parse_global_id(global_id)
    assert parsed is not None, global_id
    assert parsed[0] == type_name, parsed
    return uuid.UUID(str(parsed[1]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(
    app: ASGIApplication | Any, settings: Settings, port: int | None = None
) -> AsyncIterator[str]:
    """An app under uvicorn on loopback, in this process, for the duration of the block (served as
    ``settings`` say: limits, trusted proxies); yields its URL."""
    port = port or free_port()
    config = server_config(app, settings, "127.0.0.1", port, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), f"a server on port {port} to start")
        assert server.started, f"the server on port {port} did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def scores_settled(owner: AsyncEngine, user_id: str) -> None:
    """Wait until the scoring job has scored every change of this user (a background write of its own)."""

    async def caught_up() -> bool:
        async with owner.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT generation, scored_generation FROM hrm_score_state WHERE user_id = :id"),
                    {"id": uuid_of(user_id)},
                )
            ).first()
        return row is None or row.scored_generation >= row.generation

    await wait_for(caught_up, "the scoring job to catch up")
