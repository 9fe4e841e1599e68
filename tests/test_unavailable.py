"""What counts as "the database is down": the classifier on real failures, provoked against a PostgreSQL of
this module's own (stopped, shutting down, its backends terminated) and a Redis that is not there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aurum.db import create_engine
from aurum.settings import Settings
from aurum.unavailable import DatabaseUnreachable, is_unavailable, reason
from tests.outage import StoppablePostgres
from tests.support import free_port, wait_for


@pytest.fixture(scope="module")
async def postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoppablePostgres]:
    server = StoppablePostgres(tmp_path_factory.mktemp("classifier") / "pg", "classifier")
    await server.start()
    yield server
    if server.running:
        await server.stop()


@pytest.fixture
async def engine(postgres: StoppablePostgres) -> AsyncIterator[AsyncEngine]:
    """The app's own engine (its connect hook included) on the module's PostgreSQL, started if a test
    before left it stopped."""
    if not postgres.running:
        await postgres.start()
    made = create_engine(postgres.url, Settings(database_role="postgres", db_pool_size=2))
    yield made
    await made.dispose()


async def failure(work: Awaitable[Any]) -> BaseException:
    try:
        await work
    except Exception as error:
        return error
    raise AssertionError("expected a failure")


async def run(engine: AsyncEngine, statement: str) -> Any:
    async with engine.connect() as connection:
        return await connection.scalar(text(statement))


async def sleeping(engine: AsyncEngine) -> None:
    """Wait until a ``pg_sleep`` of the tests' is running in the server."""

    async def seen() -> bool:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'"
        )
        return bool(await run(engine, query))

    await wait_for(seen, "the statement to run")


async def terminate(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def sqlstates(error: BaseException | None) -> list[str]:
    found = []
    while error is not None:
        if isinstance(error, asyncpg.PostgresError):
            found.append(error.sqlstate)
        error = error.__cause__
    return found


async def raw(postgres: StoppablePostgres, **options: Any) -> asyncpg.Connection:
    options.setdefault("user", "postgres")
    return await asyncpg.connect(host=postgres.socket_directory, database=postgres.database, **options)


# ---- unavailable -------------------------------------------------------------------------------------------


async def test_a_stopped_database_refuses_connections(
    postgres: StoppablePostgres, engine: AsyncEngine
) -> None:
    assert await run(engine, "SELECT 1") == 1
    await postgres.stop()
    error = await failure(run(engine, "SELECT 1"))
    assert isinstance(error, DatabaseUnreachable), repr(error)
    assert isinstance(error.__cause__, OSError)  # asyncpg's own: the socket file is gone
    assert is_unavailable(error)


async def test_a_query_running_when_the_database_stops(
    postgres: StoppablePostgres, engine: AsyncEngine
) -> None:
    running = asyncio.create_task(run(engine, "SELECT pg_sleep(30)"))
    await sleeping(engine)
    await postgres.stop()
    error = await failure(running)
    assert is_unavailable(error), repr(error)


async def test_a_backend_terminated_in_the_middle_of_a_query(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        running = asyncio.create_task(connection.execute(text("SELECT pg_sleep(30)")))
        await sleeping(engine)
        await terminate(engine, pid)
        error = await failure(running)
    assert "08003" in sqlstates(error) or "57P01" in sqlstates(error), repr(error)
    assert is_unavailable(error)


async def test_a_held_connection_whose_backend_was_terminated(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await terminate(engine, pid)
        raw_connection = (await connection.get_raw_connection()).driver_connection
        assert raw_connection is not None
        await wait_for(raw_connection.is_closed, "asyncpg to see its connection closed")
        error = await failure(connection.execute(text("SELECT 1")))
    assert getattr(error, "connection_invalidated", False), repr(error)
    assert is_unavailable(error)


async def test_asyncpg_used_directly_loses_its_connection(
    postgres: StoppablePostgres, engine: AsyncEngine
) -> None:
    connection = await raw(postgres)
    running = asyncio.create_task(connection.fetch("SELECT pg_sleep(30)"))
    await sleeping(engine)
    await terminate(engine, connection.get_server_pid())
    in_the_middle = await failure(running)
    after = await failure(connection.fetch("SELECT 1"))
    assert isinstance(in_the_middle, asyncpg.ConnectionDoesNotExistError), repr(in_the_middle)
    assert isinstance(after, asyncpg.InterfaceError), repr(after)
    assert is_unavailable(in_the_middle)
    assert is_unavailable(after)


async def test_a_database_shutting_down_refuses_new_connections(
    postgres: StoppablePostgres, engine: AsyncEngine
) -> None:
    held = await raw(postgres)
    await postgres.begin_smart_shutdown()  # waits for the held session, refusing everyone else
    try:
        error = await failure(run(engine, "SELECT 1"))
        assert "57P03" in sqlstates(error), repr(error)
        assert is_unavailable(error)
    finally:
        await held.close()
        await postgres.finish_smart_shutdown()


async def test_no_connection_slot_left(postgres: StoppablePostgres, engine: AsyncEngine) -> None:
    role = f"limited_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"))
    first = await raw(postgres, user=role)
    try:
        error = await failure(raw(postgres, user=role))
    finally:
        await first.close()
    assert sqlstates(error) == ["53300"], repr(error)
    assert is_unavailable(error)


async def test_a_pool_with_no_connection_to_give(postgres: StoppablePostgres, engine: AsyncEngine) -> None:
    small = create_async_engine(postgres.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with small.connect():
            error = await failure(small.connect().__aenter__())
    finally:
        await small.dispose()
    assert is_unavailable(error), repr(error)


async def test_redis_that_is_not_there() -> None:
    client = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        error = await failure(client.ping())
    finally:
        await client.aclose()
    assert is_unavailable(error), repr(error)


def test_a_crash_of_another_backend_is_unavailability() -> None:
    # Not provoked: a crash resets every backend, and which word reaches a client then is a race.
    crash = asyncpg.exceptions.CrashShutdownError(
        "terminating connection because of crash of another server process"
    )
    assert is_unavailable(crash)


# ---- not unavailable ---------------------------------------------------------------------------------------

MISTAKES = {
    "a unique violation": "INSERT INTO twice VALUES (1), (1)",
    "a not-null violation": "INSERT INTO twice VALUES (NULL)",
    "a syntax error": "SELEKT 1",
    "an unknown column": "SELECT nope FROM twice",
    "a division by zero": "SELECT 1 / 0",
    "a bad cast": "SELECT 'x'::int",
}


@pytest.mark.parametrize("statement", MISTAKES.values(), ids=MISTAKES.keys())
async def test_a_mistake_in_a_statement_is_not_unavailability(engine: AsyncEngine, statement: str) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("CREATE TEMP TABLE twice (n int PRIMARY KEY)"))
        error = await failure(connection.execute(text(statement)))
    assert not is_unavailable(error), repr(error)
    assert not getattr(error, "connection_invalidated", True)


async def test_a_cancelled_statement_is_not_unavailability(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SET statement_timeout = 50"))
        error = await failure(connection.execute(text("SELECT pg_sleep(5)")))
    assert sqlstates(error) == ["57014"], repr(error)
    assert not is_unavailable(error)


async def test_asyncpg_mistakes_and_other_failures_are_not_unavailability(
    postgres: StoppablePostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    connection = await raw(postgres)
    try:
        unique = await failure(
            connection.execute("CREATE TEMP TABLE t (n int PRIMARY KEY); INSERT INTO t VALUES (1), (1)")
        )
    finally:
        await connection.close()
    assert isinstance(unique, asyncpg.UniqueViolationError)
    missing_file = await failure(asyncio.to_thread((tmp_path / "nothing").read_bytes))
    assert isinstance(missing_file, FileNotFoundError)  # an OSError, but not the database's
    for error in (unique, missing_file, RuntimeError("a bug"), ConnectionResetError("a client went away")):
        assert not is_unavailable(error), repr(error)


async def test_the_log_line_names_the_failure_not_the_statement(
    postgres: StoppablePostgres, engine: AsyncEngine
) -> None:
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await terminate(engine, pid)
        raw_connection = (await connection.get_raw_connection()).driver_connection
        await wait_for(raw_connection.is_closed, "asyncpg to see its connection closed")
        lost = await failure(connection.execute(text("SELECT 'a statement of ours'")))
    await postgres.stop()
    refused = await failure(run(engine, "SELECT 1"))
    assert reason(lost) == "InterfaceError: connection is closed"
    assert reason(refused).startswith("DatabaseUnreachable: PostgreSQL cannot be reached: ")
