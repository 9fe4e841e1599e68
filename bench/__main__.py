"""``make bench``: Aurum next to PostGraphile 4 and the raw floor (bench/versus.py: the nested tree at
2,000 and 20,000 tasks, ``node(id)``, ``taskCreate``, with issue 14's targets), then the realtime benchmark
(bench/realtime.py): mutation -> WebSocket delivery and memory per connection, the analysis benchmark
(bench/analysis.py): analysisRequest -> insight delivered, rules-only and with a stand-in model, and the
hostile documents (bench/hostile.py). ``python -m bench versus|realtime|analysis|hostile`` runs one part
alone.

``python -m bench nested`` (not part of ``make bench``) is the older in-process comparison: the nested
GraphQL query over HTTP against a raw asyncpg fetch of the same rows, everything on loopback in a temporary
directory, one user with 5 pillars x 4 areas x 5 projects x 20 tasks (2000 tasks), inserted in bulk.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from sqlalchemy import event

from aurum.app import build_app
from aurum.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from aurum.ids import parse_global_id
from aurum.migrate import upgrade
from aurum.resources import Resources, open_resources
from aurum.runtime import tune_gc
from aurum.serving import server_config
from aurum.settings import Settings
from bench import accounts, analysis, hostile, planning, realtime, versus, writes
from bench.accounts import Shape

PILLARS, AREAS, PROJECTS, TASKS = 5, 4, 5, 20
REPETITIONS = 30
WARMUP = 3
RAW_STATEMENTS = 4

QUERY = f"""{{ pillars(first: {PILLARS}) {{ nodes {{ id name
  areas(first: {AREAS}) {{ nodes {{ id name
    projects(first: {PROJECTS}) {{ nodes {{ id name
      tasks(first: {TASKS}) {{ nodes {{ id name status dueDate isOverdue canStart }} }}
    }} }} }} }} }} }} }}"""

RAW = (
    "SELECT id, name FROM pillars WHERE user_id = $1 AND NOT archived ORDER BY sort_order, id",
    "SELECT id, pillar_id, name FROM areas WHERE user_id = $1 AND NOT archived"
    " ORDER BY pillar_id, sort_order, id",
    "SELECT id, area_id, name FROM projects WHERE user_id = $1 AND NOT archived"
    " ORDER BY area_id, sort_order, id",
    "SELECT t.id, t.project_id, t.name, t.status, t.due_date, t.due_time,"
    " NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks w ON w.id = d.depends_on_id"
    "  WHERE d.task_id = t.id AND w.status <> 'completed') AS can_start"
    " FROM tasks t WHERE t.user_id = $1 ORDER BY t.project_id, t.sort_order, t.id",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def engines(directory: Path) -> AsyncIterator[Settings]:
    """Embedded PostgreSQL and Redis in ``directory``, migrated, stopped on exit."""
    async with AsyncExitStack() as stack:
        postgres, database_url = await asyncio.to_thread(start_postgres, directory / "pg", "aurum_bench")
        stack.callback(stop_postgres, postgres)
        redis, redis_url = await asyncio.to_thread(start_redis, directory / "redis")
        stack.callback(stop_redis, redis)
        await upgrade(database_url)
        yield Settings(
            database_url=database_url,
            redis_url=redis_url,
            data_dir=directory / "data",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            log_level="WARNING",
            trusted_proxies=["127.0.0.1"],  # bench users sign up from addresses of their own
        )


@asynccontextmanager
async def serving(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """The app under uvicorn on a free loopback port."""
    port = free_port()
    app = build_app(settings, resources)
    config = server_config(
        app, settings, "127.0.0.1", port, access_log=False, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    tune_gc()  # as `aurum serve` does
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def register(http: httpx.AsyncClient) -> tuple[str, uuid.UUID]:
    """A fresh user: its access token and id."""
    response = await http.post(
        "/graphql",
        json={
            "query": "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {"
            " accessToken user { id } userErrors { message } } }",
            "variables": {
                "input": {
                    "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                    "password": "correct horse battery",
                }
            },
        },
    )
    payload = response.json()["data"]["accountRegister"]
    assert payload["userErrors"] == [], payload
    parsed = parse_global_id(payload["user"]["id"])
    assert parsed is not None
    return payload["accessToken"], parsed[1]


def asyncpg_dsn(database_url: str) -> str:
    return "postgresql://" + database_url.split("://", 1)[1]


async def bulk_insert(connection: asyncpg.Connection, user_id: uuid.UUID) -> int:
    shape = Shape(PILLARS, AREAS, PROJECTS, TASKS)
    await accounts.bulk_insert(connection, user_id, shape)
    return shape.total


class StatementCounter:
    """Counts SQL statements the app sends through its engine."""

    def __init__(self, resources: Resources) -> None:
        self.engine = resources.engine.sync_engine
        self.count = 0

    def _count(self, *args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def graphql_run(http: httpx.AsyncClient, token: str) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        headers = {"authorization": f"Bearer {token}"}
        response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
        body = response.json()
        assert "errors" not in body, body["errors"]
        return sum(
            len(project["tasks"]["nodes"])
            for pillar in body["data"]["pillars"]["nodes"]
            for area in pillar["areas"]["nodes"]
            for project in area["projects"]["nodes"]
        )

    return run


def raw_run(connection: asyncpg.Connection, user_id: uuid.UUID) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        async with connection.transaction(readonly=True):
            results = [await connection.fetch(statement, user_id) for statement in RAW]
        return len(results[-1])

    return run


async def timed(run: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    gc.collect()  # so neither side pays for the garbage the other one left
    start = time.perf_counter()
    rows = await run()
    return (time.perf_counter() - start) * 1000, rows


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(
    graphql: Callable[[], Awaitable[int]], raw: Callable[[], Awaitable[int]], counter: StatementCounter
) -> dict[str, Any]:
    """Interleave the two so that both see the same machine; statements counted for GraphQL only."""
    for _ in range(WARMUP):
        await graphql()
        await raw()
    samples: dict[str, list[float]] = {"graphql": [], "raw": []}
    rows: dict[str, int] = {}
    statements = 0
    for _ in range(REPETITIONS):
        before = counter.count
        elapsed, rows["graphql"] = await timed(graphql)
        statements += counter.count - before
        samples["graphql"].append(elapsed)
        elapsed, rows["raw"] = await timed(raw)
        samples["raw"].append(elapsed)
    return {"samples": samples, "rows": rows, "statements": statements / REPETITIONS}


def report(result: dict[str, Any]) -> None:
    samples, rows = result["samples"], result["rows"]
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    p95 = {k: percentile(v, 0.95) for k, v in samples.items()}
    print(
        f"\nNested query: {PILLARS} pillars x {AREAS} areas x {PROJECTS} projects x {TASKS} tasks, "
        f"{REPETITIONS} repetitions (after {WARMUP} warm-up)\n"
    )
    print(f"{'':28}{'rows':>7}{'p50 ms':>10}{'p95 ms':>10}{'SQL statements':>17}")
    print(
        f"{'GraphQL over HTTP':28}{rows['graphql']:>7}{p50['graphql']:>10.1f}{p95['graphql']:>10.1f}"
        f"{result['statements']:>17.1f}"
    )
    print(
        f"{'raw asyncpg (4 SELECTs)':28}{rows['raw']:>7}{p50['raw']:>10.1f}{p95['raw']:>10.1f}"
        f"{RAW_STATEMENTS:>17}"
    )
    p50_ratio, p95_ratio = p50["graphql"] / p50["raw"], p95["graphql"] / p95["raw"]
    print(f"\nratio GraphQL / raw: p50 {p50_ratio:.1f}x, p95 {p95_ratio:.1f}x")


async def nested() -> None:
    """The nested hierarchy query next to a raw fetch of the same rows."""
    with tempfile.TemporaryDirectory(prefix="aurum-bench-") as directory:
        async with (
            engines(Path(directory)) as settings,
            open_resources(settings) as resources,
            serving(settings, resources) as url,
            httpx.AsyncClient(base_url=url, timeout=60) as http,
        ):
            token, user_id = await register(http)
            assert resources.database_url is not None
            connection = await asyncpg.connect(asyncpg_dsn(resources.database_url))
            try:
                inserted = await bulk_insert(connection, user_id)
                print(f"inserted {inserted} tasks in bulk; serving at {url}", file=sys.stderr)
                with StatementCounter(resources) as counter:
                    result = await measure(graphql_run(http, token), raw_run(connection, user_id), counter)
            finally:
                await connection.close()
    report(result)


async def main() -> None:
    started = time.perf_counter()
    await versus.main()
    realtime.report(await realtime.measure())
    analysis.report(await analysis.measure())
    hostile.report(await hostile.measure())
    planning.report(await asyncio.to_thread(planning.measure))
    writes.report(await writes.measure())
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    parts = {
        "nested": nested,
        "analysis": analysis.main,
        "realtime": realtime.main,
        "hostile": hostile.main,
        "versus": versus.main,
        "planning": planning.main,
        "writes": writes.main,
    }
    arguments = sys.argv[1:]
    if arguments[:1] == ["writes"]:  # the one part taking numbers (see bench.writes.main)
        asyncio.run(writes.main(arguments[1:]))
    else:
        asyncio.run(parts.get(" ".join(arguments), main)())
