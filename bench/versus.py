"""Aurum next to PostGraphile 4 and the raw floor: the same reads and the same write, over HTTP, against one
PostgreSQL with the same rows and the same row-level security (issue 14's targets).

One embedded PostgreSQL and Redis (migrated by Aurum's migrations, plus the computed columns a PostGraphile
user would add: bench/postgraphile/computed.sql); servers in processes of their own: ``aurum serve
--no-worker`` with an ``aurum worker`` beside it, PostGraphile 4 as a library under Node (bench/postgraphile),
and the raw floor (bench/floor.py). The client is this process (bench/loadgen.py); it is none of the servers.

Accounts, registered through Aurum: 2,000 tasks (5 pillars x 4 areas x 5 projects x 20), 20,000 tasks
(5 x 4 x 10 x 100), and 200-task accounts (2 x 2 x 5 x 10) for the writes, one per arm and round, so that
each arm's creates land in an account of the same size. Every tree asks for pages of 100 at each level: one
document for both sizes; the plain tree is the same document without the computed fields (``isOverdue``,
``canStart``: SQL functions for PostGraphile that PostgreSQL cannot inline), to show what they cost. Every arm
must give the same answers before any is timed: the same tasks in the same order with the same computed fields
(none in the plain tree), the same task for ``node(id)``, and a created task that Aurum then reads back.

Arms are interleaved: round-robin per repetition (the order rotating), and while one arm is measured the
others' servers are paused (SIGSTOP), Aurum's only once its background work is done, so that no arm's
figures carry another's work (the other arms' inserts fire Aurum's change-log triggers too, and Aurum
announces and rescores them; that reaction is let finish, unmeasured, before the next window). The machine's
load average is noted before and after each phase, and Aurum's /metrics must show that its reads were
answered by the compiled path.

``python -m bench versus`` runs this part alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

from bench import arms, servers
from bench.accounts import Account, Shape, make_account
from bench.arms import ARMS, AURUM, FLOOR, POSTGRAPHILE, Ask
from bench.background import Settled, settle
from bench.loadgen import Connection, closed_loop, quiet_collector
from bench.realtime import SECRET_KEY, Engines, engines
from bench.results import Results, Window
from bench.servers import CpuMeter, Server
from bench.statements import CREATE_LOG_ROLE, Count, StatementLog, as_log_role, counts

SMALL, LARGE, WRITES = Shape(5, 4, 5, 20), Shape(5, 4, 10, 100), Shape(2, 2, 5, 10)
CONCURRENCY = 8
WARMUP = 3
# Repetitions one at a time (p95 is then the 39th of 40 samples, the 19th of 20, the 190th of 200), and
# seconds per throughput window, in ROUNDS windows per arm.
LATENCY = {"tree 2,000": 40, "tree 20,000": 20, "plain tree 2,000": 40, "plain tree 20,000": 20, "node": 200}
WINDOW_SECONDS = {
    "tree 2,000": 4.0,
    "tree 20,000": 5.0,
    "plain tree 2,000": 3.0,
    "plain tree 20,000": 4.0,
    "node": 3.0,
}
# The tree workloads: the account's size, and whether the tasks ask for no computed fields.
TREES = {
    "tree 2,000": ("small", False),
    "tree 20,000": ("large", False),
    "plain tree 2,000": ("small", True),
    "plain tree 20,000": ("large", True),
}
ROUNDS = 3
CREATE_SECONDS = 3.0  # per window of creates
PAUSED = "create, no worker"  # Aurum's creates with its worker paused
COUNTED = 3  # requests whose statements are counted, per arm and workload, after WARM_COUNTED others
WARM_COUNTED = 3  # a pooled connection's first statement of a kind asks for type information once
PATIENCE = 30.0  # seconds to wait for Aurum's background work before dropping the jobs still queued


def asyncpg_url(database_url: str) -> str:
    return "postgresql://" + database_url.split("://", 1)[1]


def rotated(i: int) -> tuple[str, ...]:
    k = i % len(ARMS)
    return ARMS[k:] + ARMS[:k]


@dataclass
class Bench:
    found: Engines
    database: asyncpg.Connection
    redis: Redis
    aurum: list[Server]  # the API, the worker
    ports: dict[str, int]
    others: dict[str, list[Server]]  # the processes of each arm

    def processes(self, arm: str) -> list[Server]:
        return self.aurum if arm == AURUM else self.others[arm]

    async def settle(self) -> Settled:
        return await settle(self.database, self.redis, PATIENCE)

    @contextlib.contextmanager
    def only(self, arm: str, worker: bool = False) -> Iterator[None]:
        """Only ``arm``'s servers running (Aurum's worker only with ``worker``: reads do not need it)."""
        stopped = [s for other in ARMS if other != arm for s in self.processes(other)]
        if arm == AURUM and not worker:
            stopped.append(self.aurum[1])
        with servers.paused(stopped):
            yield

    def meter(self, arm: str) -> CpuMeter:
        groups: dict[str, Callable[[], list[int]]] = {
            "server": lambda: [self.processes(arm)[0].pid],
            "engines": lambda: servers.engine_pids(self.found),
            "client": lambda: [os.getpid()],
        }
        if arm == AURUM:
            groups["worker"] = lambda: [self.aurum[1].pid]
        return CpuMeter(groups)


# --- correctness first ---


async def answer(port: int, ask: Ask) -> bytes:
    connection = await Connection.open(port)
    try:
        status, body = await connection.send(ask.request)
    finally:
        connection.close()
    if not ask.accept(status, body):
        raise RuntimeError(f"refused ({status}): {body[:600]!r}")
    return body


async def check_answers(bench: Bench, made: Accounts, tasks: dict[str, int]) -> uuid.UUID:
    """Every arm's tree, node and create answer the same (the trees' tasks counted into ``tasks``); returns
    the task ``node(id)`` reads."""
    small, scratch = made.small, made.scratch
    references: dict[str, list[arms.Row]] = {}
    for workload, (size, plain) in TREES.items():  # each full tree before its plain one
        account = made.of(size)
        trees = {
            arm: arms.tree_rows(
                await answer(bench.ports[arm], arms.tree(arm, bench.ports[arm], account, plain))
            )
            for arm in ARMS
        }
        full = references[workload.removeprefix("plain ")] if plain else None
        references[workload] = arms.checked_tree(workload, trees, account.shape.total, full)
        tasks[workload] = len(references[workload])
    task_row = next(r for r in references["tree 2,000"] if r[-1] is False)[3:]  # a task that cannot start yet
    task: uuid.UUID = task_row[0]
    for arm in ARMS:
        row = arms.node_row(await answer(bench.ports[arm], arms.node(arm, bench.ports[arm], small, task)))
        if row != task_row:
            raise RuntimeError(f"{arm}'s node(id) answers {row}, not {task_row}")
    for arm in ARMS:
        created = arms.created_id(await answer(bench.ports[arm], arms.create(arm, bench.ports[arm], scratch)))
        read = arms.node_row(
            await answer(bench.ports[AURUM], arms.node(AURUM, bench.ports[AURUM], scratch, created))
        )
        if read[:3] != (created, arms.CREATED_NAME, "todo"):
            raise RuntimeError(f"the task {arm} created reads back as {read}")
    return task


# --- statements per request ---


async def count_statements(
    directory: Path, found: Engines, asks: Callable[[str, int], dict[str, Ask]], token: str
) -> dict[str, dict[str, list[Count]]]:
    """Per workload and arm, the statements of ``COUNTED`` requests, from servers of their own that log in as
    the logging role (started and stopped here; the measured servers are idle meanwhile)."""
    log_url = as_log_role(found.database_url)
    result: dict[str, dict[str, list[Count]]] = {}
    async with AsyncExitStack() as stack:
        counting = directory / "counting"
        counting.mkdir()
        async with asyncio.TaskGroup() as group:
            started = {
                AURUM: group.create_task(
                    stack.enter_async_context(
                        servers.aurum_api(
                            counting,
                            found,
                            "data-counting",
                            AURUM_DATABASE_URL=log_url,
                            AURUM_EVENT_SWEEP_INTERVAL="60",
                        )
                    )
                ),
                POSTGRAPHILE: group.create_task(
                    stack.enter_async_context(
                        servers.postgraphile(counting, asyncpg_url(log_url), SECRET_KEY, token)
                    )
                ),
                FLOOR: group.create_task(
                    stack.enter_async_context(servers.floor(counting, asyncpg_url(log_url), SECRET_KEY))
                ),
            }
        marker = await asyncpg.connect(asyncpg_url(log_url))
        stack.push_async_callback(marker.close)
        log = StatementLog(directory / "pg" / "log", marker)
        for arm, task in started.items():
            port = task.result().port
            connection = await Connection.open(port)
            stack.callback(connection.close)
            for workload, ask in asks(arm, port).items():
                send = sender(connection, ask, f"{arm}, {workload}")
                result.setdefault(workload, {})[arm] = await counts(
                    log, send, warm=WARM_COUNTED, times=COUNTED
                )
    return result


def sender(connection: Connection, ask: Ask, what: str) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        status, body = await connection.send(ask.request)
        if not ask.accept(status, body):
            raise RuntimeError(f"{what}: refused ({status}): {body[:400]!r}")

    return send


# --- timing ---


async def latencies(bench: Bench, asks: dict[str, Ask], count: int) -> dict[str, list[float]]:
    """``count`` requests per arm one at a time, the arms taking turns request by request."""
    connections = {arm: await Connection.open(bench.ports[arm]) for arm in ARMS}
    samples: dict[str, list[float]] = {arm: [] for arm in ARMS}
    try:
        for arm in ARMS:
            with bench.only(arm):
                for _ in range(WARMUP):
                    await connections[arm].send(asks[arm].request)
        with quiet_collector():
            for i in range(count):
                for arm in rotated(i):
                    with bench.only(arm):
                        start = time.perf_counter()
                        status, body = await connections[arm].send(asks[arm].request)
                        samples[arm].append((time.perf_counter() - start) * 1000)
                    if not asks[arm].accept(status, body):
                        raise RuntimeError(f"{arm} refused ({status}): {body[:400]!r}")
    finally:
        for connection in connections.values():
            connection.close()
    return samples


async def window(bench: Bench, arm: str, ask: Ask, seconds: float, *, writing: bool = False) -> Window:
    """One arm alone at concurrency 8 for ``seconds`` (what is under way then still finishes and counts);
    Aurum's writes with its worker running, and until its background work is done (CPU included)."""
    meter = bench.meter(arm)
    with bench.only(arm, worker=writing):
        meter.start()
        sample = await closed_loop(bench.ports[arm], ask.request, ask.accept, CONCURRENCY, seconds=seconds)
        settled = await bench.settle() if writing and arm == AURUM else None
        cpu = meter.stop()
    return Window(sample, cpu, settled)


async def throughput(bench: Bench, asks: dict[str, Ask], seconds: float) -> dict[str, list[Window]]:
    found: dict[str, list[Window]] = {arm: [] for arm in ARMS}
    for r in range(ROUNDS):
        for arm in rotated(r):
            found[arm].append(await window(bench, arm, asks[arm], seconds))
    return found


async def writes(bench: Bench, fresh: dict[str, list[Account]]) -> dict[str, dict[str, list[Window]]]:
    """Creates for ``CREATE_SECONDS`` per window, each arm into a fresh 200-task account, in turn; then Aurum
    again into the same accounts with its worker paused, to show what its background rescoring costs the
    writes (the jobs queued meanwhile run after the window, unmeasured)."""
    found: dict[str, list[Window]] = {arm: [] for arm in ARMS}
    for r in range(ROUNDS):
        for arm in rotated(r):
            await bench.settle()
            ask = arms.create(arm, bench.ports[arm], fresh[arm][r])
            found[arm].append(await window(bench, arm, ask, CREATE_SECONDS, writing=True))
    paused = []
    for r in range(ROUNDS):
        await bench.settle()
        ask = arms.create(AURUM, bench.ports[AURUM], fresh[AURUM][r])
        paused.append(await window(bench, AURUM, ask, CREATE_SECONDS))
    await bench.settle()
    return {"create": found, PAUSED: {AURUM: paused}}


# --- the run ---


@dataclass
class Accounts:
    small: Account  # 2,000 tasks
    large: Account  # 20,000 tasks
    scratch: Account  # the creates that check the answers
    counted: Account  # the creates whose statements are counted
    fresh: dict[str, list[Account]]  # per arm, one 200-task account per round of creates

    def of(self, size: str) -> Account:
        return self.small if size == "small" else self.large


async def make_accounts(http: httpx.AsyncClient, database: asyncpg.Connection) -> Accounts:
    made = Accounts(
        await make_account(http, database, "small", SMALL),
        await make_account(http, database, "large", LARGE),
        await make_account(http, database, "scratch", WRITES),
        await make_account(http, database, "counted", WRITES),
        {
            arm: [await make_account(http, database, f"w{i}{r}", WRITES) for r in range(ROUNDS)]
            for i, arm in enumerate(ARMS)
        },
    )
    await database.execute("VACUUM ANALYZE")
    return made


async def set_up(stack: AsyncExitStack, directory: Path) -> tuple[Bench, Accounts]:
    """The engines, Aurum's processes, the accounts (through Aurum), then PostGraphile and the floor."""
    found = await stack.enter_async_context(engines(directory))
    database_url = asyncpg_url(found.database_url)
    database = await asyncpg.connect(database_url)
    stack.push_async_callback(database.close)
    await database.execute((servers.BENCH / "postgraphile" / "computed.sql").read_text())
    for statement in CREATE_LOG_ROLE:
        await database.execute(statement)
    api = await stack.enter_async_context(servers.aurum_api(directory, found))
    worker = await stack.enter_async_context(servers.aurum_worker(directory, found))
    http = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}"))
    made = await make_accounts(http, database)
    graphile = await stack.enter_async_context(
        servers.postgraphile(directory, database_url, SECRET_KEY, made.small.token)
    )
    raw = await stack.enter_async_context(servers.floor(directory, database_url, SECRET_KEY))
    redis = Redis.from_url(found.redis_url)
    stack.push_async_callback(redis.aclose)
    ports = {AURUM: api.port, POSTGRAPHILE: graphile.port, FLOOR: raw.port}
    others = {POSTGRAPHILE: [graphile], FLOOR: [raw]}
    bench = Bench(found, database, redis, [api, worker], ports, others)
    await bench.settle()  # the seeded accounts' change log announced
    return bench, made


async def run(directory: Path, results: Results) -> None:
    phase = results.phases
    async with AsyncExitStack() as stack:
        with phase("engines, accounts and servers"):
            bench, made = await set_up(stack, directory)
        with phase("answers checked"):
            task = await check_answers(bench, made, results.tasks)

        def reads(arm: str, port: int) -> dict[str, Ask]:
            trees = {
                workload: arms.tree(arm, port, made.of(size), plain)
                for workload, (size, plain) in TREES.items()
            }
            return {**trees, "node": arms.node(arm, port, made.small, task)}

        def counted_asks(arm: str, port: int) -> dict[str, Ask]:
            return {**reads(arm, port), "create": arms.create(arm, port, made.counted)}

        with phase("statements counted"):
            token = made.small.token
            results.statements = await count_statements(directory, bench.found, counted_asks, token)
            await bench.settle()
        for workload, count in LATENCY.items():
            asks = {arm: reads(arm, bench.ports[arm])[workload] for arm in ARMS}
            before = await servers.aurum_answers(bench.ports[AURUM])
            with phase(f"{workload}: one at a time"):
                results.latency[workload] = await latencies(bench, asks, count)
            with phase(f"{workload}: concurrency {CONCURRENCY}"):
                results.windows[workload] = await throughput(bench, asks, WINDOW_SECONDS[workload])
            after = await servers.aurum_answers(bench.ports[AURUM])
            results.answered[workload] = {path: after[path] - before.get(path, 0) for path in after}
        with phase(f"create: concurrency {CONCURRENCY}"):
            results.windows.update(await writes(bench, made.fresh))


async def measure() -> Results:
    servers.npm_ci()
    results = Results(os.cpu_count())
    with tempfile.TemporaryDirectory(prefix="aurum-versus-") as name:
        await run(Path(name), results)
    return results


async def main() -> None:
    from bench.verdicts import report

    report(await measure())
