"""Realtime: mutation → delivery over WebSockets with two API processes sharing PostgreSQL and Redis.

Two ``aurum serve --no-worker`` subprocesses run on one embedded PostgreSQL and Redis (in a temporary
directory); a third registers the users and is stopped before anything is measured. 50 users hold 20 sockets
each, 10 on each process: 1,000 graphql-transport-ws subscribers of ``recordChanged``. Every mutation
therefore reaches sockets on the process that made it and on the other one.

Measured:
- delivery latency: from sending a mutation over HTTP until each of the user's 20 sockets has the event,
  one mutation at a time (the HTTP request alternates between the processes), then in bursts of one
  mutation for every user at once (deliveries per second);
- memory per idle connection: RSS of each server before opening sockets, after 500 acknowledged
  connections each, and after those subscribed.

The bench process (the 1,000 client sockets) shares the machine with both servers and the engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import orjson
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aurum.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from aurum.ids import parse_global_id, to_global_id
from aurum.migrate import upgrade
from aurum.realtime.graphql import encode_cursor
from aurum.runtime import tune_gc
from bench.addresses import own_address

PROCESSES = 2
USERS = 50
SOCKETS_PER_USER = 20  # split evenly over the processes (the per-process cap per user is 20)
OPEN_CONCURRENCY = 50
LATENCY_MUTATIONS = 200
BURST_ROUNDS = 5
DELIVERY_TIMEOUT = 30.0
TARGET_P99_MS = 250.0
TARGET_KIB = 30.0

SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"
PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = "subscription($after: String) { recordChanged(after: $after) { cursor operation entityId } }"
CREATE = (
    "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) {"
    " pillar { id } userErrors { message } } }"
)
UPDATE = (
    "mutation($input: PillarUpdateInput!) { pillarUpdate(input: $input) {"
    " pillar { id } userErrors { message } } }"
)
REGISTER = (
    "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {"
    " accessToken user { id } userErrors { message } } }"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- engines and server processes ---


@dataclass
class Engines:
    database_url: str
    redis_url: str
    postgres_pid: int | None
    redis_pid: int | None


@asynccontextmanager
async def engines(directory: Path) -> AsyncIterator[Engines]:
    async with AsyncExitStack() as stack:
        postgres, database_url = await asyncio.to_thread(start_postgres, directory / "pg", "aurum_realtime")
        stack.callback(stop_postgres, postgres)
        redis, redis_url = await asyncio.to_thread(start_redis, directory / "redis")
        stack.callback(stop_redis, redis)
        await upgrade(database_url)
        try:
            postgres_pid: int | None = int((directory / "pg" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            postgres_pid = None
        yield Engines(database_url, redis_url, postgres_pid, getattr(redis, "pid", None) or None)


@dataclass
class ApiProcess:
    index: int
    url: str
    process: asyncio.subprocess.Process
    log: IO[str]

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def warnings(self) -> dict[str, int]:
        """Warnings and errors the server logged, by message (timestamps dropped), with their counts."""
        self.log.seek(0)
        found: dict[str, int] = {}
        for line in self.log:
            if "[warning" in line or "[error" in line:
                message = line.split(" ", 1)[-1].strip()
                message = message.split(" retry_in=")[0]
                found[message] = found.get(message, 0) + 1
        return found


def serve_env(found: Engines, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``aurum serve`` on the bench's engines: ours only, none inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env | {
        "AURUM_DATABASE_URL": found.database_url,
        "AURUM_REDIS_URL": found.redis_url,
        "AURUM_SECRET_KEY": SECRET_KEY,
        "AURUM_DATA_DIR": str(data_dir),
        "AURUM_LOG_LEVEL": "WARNING",
        "AURUM_TRUSTED_PROXIES": "127.0.0.1",  # bench users sign up from addresses of their own
        **extra,
    }


async def wait_healthy(url: str, process: asyncio.subprocess.Process, output: Callable[[], str]) -> None:
    """Until the server answers /health; its output in the error if it exits or never answers."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as probe:
        deadline = time.monotonic() + 120
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"aurum serve exited ({process.returncode}): {output()}")
            with contextlib.suppress(httpx.TransportError):
                if (await probe.get("/health")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"aurum serve did not answer /health: {output()}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def api_process(index: int, directory: Path, found: Engines) -> AsyncIterator[ApiProcess]:
    """``aurum serve --no-worker`` on a free port, healthy on exit of the ``async with`` header."""
    port = free_port()
    env = serve_env(found, directory / f"data-{index}")
    aurum = Path(sys.executable).with_name("aurum")
    with tempfile.TemporaryFile("w+", dir=directory) as log:
        process = await asyncio.create_subprocess_exec(
            str(aurum),
            "serve",
            "--no-worker",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
        server = ApiProcess(index, f"http://127.0.0.1:{port}", process, log)
        try:
            await wait_healthy(server.url, process, server.output)
            yield server
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            if "Traceback" in server.output():
                print(f"server {index} logged a traceback:\n{server.output()}", file=sys.stderr)


# --- clients ---


@dataclass(eq=False)
class Expected:
    """The event one mutation must bring to every socket of its user: arrival times as they come."""

    sockets: int
    done: asyncio.Future[None]
    arrivals: dict[Subscriber, float] = field(default_factory=dict)
    duplicates: int = 0

    def arrive(self, subscriber: Subscriber, at: float) -> None:
        if subscriber in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[subscriber] = at
        if len(self.arrivals) == self.sockets and not self.done.done():
            self.done.set_result(None)


@dataclass
class Book:
    """What the sockets are waiting for, by (entity id, operation); a user has one mutation in flight."""

    pending: dict[tuple[str, str], Expected] = field(default_factory=dict)
    unexpected: int = 0
    others: list[dict[str, Any]] = field(default_factory=list)  # errors, completes: anything but data


@dataclass(eq=False)
class Subscriber:
    """One graphql-transport-ws socket of a user on one server; events stamped on arrival."""

    server: int
    ws: ClientConnection
    book: Book
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                arrived = time.perf_counter()
                message = orjson.loads(raw)
                payload = message.get("payload") or {}
                if message.get("type") == "next" and payload.get("data") and "errors" not in payload:
                    change = payload["data"]["recordChanged"]
                    expected = self.book.pending.get((change["entityId"], change["operation"]))
                    if expected is None:
                        self.book.unexpected += 1
                    else:
                        expected.arrive(self, arrived)
                elif message.get("type") == "ping":
                    await self.ws.send(orjson.dumps({"type": "pong"}).decode())
                else:
                    self.book.others.append(message)

    async def subscribe(self, after: str) -> None:
        self.reader = asyncio.create_task(self.read())
        message = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"after": after}},
        }
        await self.ws.send(orjson.dumps(message).decode())


@dataclass(eq=False)
class User:
    index: int
    token: str
    user_id: uuid.UUID
    pillar: uuid.UUID = field(default_factory=uuid.uuid4)  # the pillar its updates rename (set once created)
    renames: int = 0
    subscribers: list[Subscriber] = field(default_factory=list)
    # Its own HTTP connection to each server, as a browser of its own would have: one shared httpx pool
    # scans all its connections on every request, and that client time would show as server latency.
    http: list[httpx.AsyncClient] = field(default_factory=list)


async def open_socket(book: Book, url: str, server: int, token: str) -> Subscriber:
    ws = await connect(
        url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        compression=None,
        ping_interval=None,
        open_timeout=60,
        max_queue=None,
    )
    try:
        await ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            ).decode()
        )
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack}")
    except BaseException:
        await ws.close()
        raise
    return Subscriber(server, ws, book)


async def compression_offered_back(url: str) -> str | None:
    """Offer permessage-deflate and return the extension header the server answers with (None: declined)."""
    async with connect(url.replace("http://", "ws://", 1) + "/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


async def register(http: httpx.AsyncClient, index: int) -> User:
    email = f"realtime-{index}-{uuid.uuid4().hex[:8]}@example.com"
    variables = {"input": {"email": email, "password": "correct horse battery"}}
    body = {"query": REGISTER, "variables": variables}
    response = await http.post("/graphql", json=body, headers=own_address())
    payload = response.json()["data"]["accountRegister"]
    if payload["userErrors"]:
        raise RuntimeError(payload["userErrors"])
    parsed = parse_global_id(payload["user"]["id"])
    assert parsed is not None
    return User(index, payload["accessToken"], parsed[1])


@dataclass(frozen=True)
class Mutation:
    name: str
    query: str
    variables: dict[str, Any]
    entity_id: str  # the global id its event carries
    operation: str

    @classmethod
    def of(cls, user: User, create: bool) -> Mutation:
        """Create a pillar (a fresh client-made id) or rename the user's pillar."""
        if create:
            pillar = uuid.uuid4()
            variables = {"input": {"id": str(pillar), "name": f"Pillar {pillar.hex[:6]}"}}
            return cls("pillarCreate", CREATE, variables, to_global_id("Pillar", pillar), "CREATED")
        user.renames += 1
        entity_id = to_global_id("Pillar", user.pillar)
        variables = {"input": {"id": entity_id, "name": f"Renamed {user.renames}"}}
        return cls("pillarUpdate", UPDATE, variables, entity_id, "UPDATED")


async def send(http: httpx.AsyncClient, user: User, mutation: Mutation) -> None:
    headers = {"authorization": f"Bearer {user.token}"}
    response = await http.post(
        "/graphql", json={"query": mutation.query, "variables": mutation.variables}, headers=headers
    )
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    if body["data"][mutation.name]["userErrors"]:
        raise RuntimeError(body["data"][mutation.name]["userErrors"])


@dataclass
class Delivery:
    latency_ms: float
    local: bool  # the socket is on the process that ran the mutation
    arrived: float


@dataclass
class Tally:
    deliveries: list[Delivery] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    duplicates: int = 0


async def mutation_round_trip(book: Book, user: User, server: int, create: bool, tally: Tally) -> None:
    """One mutation of ``user`` through ``server``; every socket of the user must see its event."""
    mutation = Mutation.of(user, create)
    key = (mutation.entity_id, mutation.operation)
    expected = book.pending[key] = Expected(len(user.subscribers), asyncio.get_running_loop().create_future())
    try:
        sent = time.perf_counter()
        await send(user.http[server], user, mutation)
        tally.http_ms.append((time.perf_counter() - sent) * 1000)
        try:
            await asyncio.wait_for(expected.done, DELIVERY_TIMEOUT)
        except TimeoutError:
            raise RuntimeError(
                f"{len(expected.arrivals)} of {len(user.subscribers)} sockets got {key} within "
                f"{DELIVERY_TIMEOUT:.0f} s; other messages: {book.others[:3]}"
            ) from None
    finally:
        del book.pending[key]
    for subscriber, arrived in expected.arrivals.items():
        tally.deliveries.append(Delivery((arrived - sent) * 1000, subscriber.server == server, arrived))
    tally.duplicates += expected.duplicates


# --- CPU accounting (where the time goes) ---


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    seconds: dict[str, dict[int, float]] = {}
    for name, group in pids.items():
        seconds[name] = {}
        for pid in group:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                seconds[name][pid] = times.user + times.system
    return seconds


def process_groups(servers: list[ApiProcess], found: Engines) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {f"server {s.index}": [s.process.pid] for s in servers}
    groups["bench client"] = [os.getpid()]
    if found.postgres_pid is not None:
        with contextlib.suppress(psutil.Error):
            postmaster = psutil.Process(found.postgres_pid)
            groups["postgres"] = [found.postgres_pid, *(c.pid for c in postmaster.children(recursive=True))]
    if found.redis_pid is not None:
        groups["redis"] = [found.redis_pid]
    return groups


class CpuMeter:
    def __init__(self, servers: list[ApiProcess], found: Engines) -> None:
        self.servers, self.found = servers, found
        self.start: dict[str, dict[int, float]] = {}
        self.wall = 0.0

    def __enter__(self) -> CpuMeter:
        self.start = cpu_seconds(process_groups(self.servers, self.found))
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        end = cpu_seconds(process_groups(self.servers, self.found))
        self.used = {
            name: sum(value - self.start.get(name, {}).get(pid, 0.0) for pid, value in group.items())
            for name, group in end.items()
        }


# --- the run ---


async def gather_bounded(limit: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


async def last_cursor(connection: asyncpg.Connection, user_id: uuid.UUID) -> str:
    last = await connection.fetchval("SELECT coalesce(max(id), 0) FROM events WHERE user_id = $1", user_id)
    return encode_cursor(int(last))


async def measure() -> dict[str, Any]:
    raise_fd_limit(4 * USERS * SOCKETS_PER_USER + 1024)
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="aurum-rt-") as name:
        directory = Path(name)
        async with AsyncExitStack() as stack:
            found = await stack.enter_async_context(engines(directory))
            # A third process registers the users, so that the garbage of registering (argon2, the first
            # requests) is not in the measured servers' baseline, where sockets would reuse it unseen.
            registrar_stack = AsyncExitStack()
            stack.push_async_callback(registrar_stack.aclose)
            async with asyncio.TaskGroup() as group:  # one failing to start stops the others
                starting = [
                    group.create_task(stack.enter_async_context(api_process(i, directory, found)))
                    for i in range(PROCESSES)
                ]
                registering = group.create_task(
                    registrar_stack.enter_async_context(api_process(PROCESSES, directory, found))
                )
            servers = [task.result() for task in starting]
            registrar = await registrar_stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=registering.result().url,
                    timeout=60,
                    limits=httpx.Limits(max_connections=USERS, max_keepalive_connections=USERS),
                )
            )
            result["compression"] = await compression_offered_back(servers[0].url)
            database = await asyncpg.connect("postgresql://" + found.database_url.split("://", 1)[1])
            stack.push_async_callback(database.close)
            sockets: list[Subscriber] = []
            book = Book()

            async def close_sockets() -> None:
                for s in sockets:
                    if s.reader is not None:
                        s.reader.cancel()
                await asyncio.gather(*(s.ws.close() for s in sockets), return_exceptions=True)

            stack.push_async_callback(close_sockets)

            # Users (argon2 hashing: a few at a time), each with a pillar to rename.
            users: list[User] = await gather_bounded(
                4, [functools.partial(register, registrar, i) for i in range(USERS)]
            )
            seeds = [Mutation.of(u, create=True) for u in users]
            await asyncio.gather(*(send(registrar, u, m) for u, m in zip(users, seeds, strict=True)))
            await registrar_stack.aclose()
            for user in users:
                user.http = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(base_url=s.url, timeout=60, limits=httpx.Limits(max_connections=1))
                    )
                    for s in servers
                ]
            for user, seed in zip(users, seeds, strict=True):
                parsed = parse_global_id(seed.entity_id)
                assert parsed is not None
                user.pillar = parsed[1]

            # Warm-up: one subscribed socket per process and a delivery, so one-time costs are not counted.
            warm = users[0]
            warm.subscribers = [await open_socket(book, s.url, s.index, warm.token) for s in servers]
            sockets.extend(warm.subscribers)
            after = await last_cursor(database, warm.user_id)
            for s in warm.subscribers:
                await s.subscribe(after)
            for i in range(PROCESSES):
                await mutation_round_trip(book, warm, i, create=False, tally=Tally())
            for s in warm.subscribers:
                assert s.reader is not None
                s.reader.cancel()
                await s.ws.close()
            sockets.clear()
            warm.subscribers = []

            rss_before = [s.rss() for s in servers]

            # 1,000 sockets: connection_init with the user's token, connection_ack.
            plan = [(user, servers[k % PROCESSES]) for user in users for k in range(SOCKETS_PER_USER)]
            started = time.perf_counter()
            opened: list[Subscriber] = await gather_bounded(
                OPEN_CONCURRENCY,
                [functools.partial(open_socket, book, s.url, s.index, u.token) for u, s in plan],
            )
            result["open_seconds"] = time.perf_counter() - started
            for (user, _), subscriber in zip(plan, opened, strict=True):
                user.subscribers.append(subscriber)
            sockets.extend(opened)
            per_server = [sum(1 for s in opened if s.server == i) for i in range(PROCESSES)]
            rss_acked = [s.rss() for s in servers]

            # Subscribed from each user's current cursor (no gap between subscribing and the first mutation),
            # confirmed by one delivery to every socket.
            cursors = {u.user_id: await last_cursor(database, u.user_id) for u in users}
            started = time.perf_counter()
            for user in users:
                for subscriber in user.subscribers:
                    await subscriber.subscribe(cursors[user.user_id])
            confirmed = Tally()
            await asyncio.gather(
                *(mutation_round_trip(book, u, u.index % PROCESSES, False, confirmed) for u in users)
            )
            result["subscribe_seconds"] = time.perf_counter() - started
            rss_subscribed = [s.rss() for s in servers]
            tune_gc()  # the client's own collections would otherwise show as delivery latency
            result["memory"] = {
                "connections": per_server,
                "before": rss_before,
                "acked": rss_acked,
                "subscribed": rss_subscribed,
            }

            # One mutation at a time, alternating the process that receives it.
            steady = Tally()
            with CpuMeter(servers, found) as steady_cpu:
                for i in range(LATENCY_MUTATIONS):
                    user = users[i % USERS]
                    lap = i // USERS
                    await mutation_round_trip(book, user, (i + lap) % PROCESSES, lap % 2 == 1, steady)
            result["steady"], result["steady_cpu"] = steady, steady_cpu

            # Bursts: a mutation for every user at once.
            burst = Tally()
            elapsed = 0.0
            with CpuMeter(servers, found) as burst_cpu:
                for lap in range(BURST_ROUNDS):
                    start = time.perf_counter()
                    before = len(burst.deliveries)
                    create = lap % 2 == 1
                    await asyncio.gather(
                        *(
                            mutation_round_trip(book, u, (u.index + lap) % PROCESSES, create, burst)
                            for u in users
                        )
                    )
                    elapsed += max(d.arrived for d in burst.deliveries[before:]) - start
            result["burst"], result["burst_cpu"], result["burst_seconds"] = burst, burst_cpu, elapsed

            result["closed_early"] = sum(1 for s in sockets if s.ws.close_code is not None)
            result["other_messages"] = book.others[:3]
            result["unexpected"] = book.unexpected
            result["server_warnings"] = [server.warnings() for server in servers]
    return result


def kib_per_connection(
    after: list[int], before: list[int], connections: list[int]
) -> tuple[float, list[float]]:
    each = [(a - b) / n / 1024 for a, b, n in zip(after, before, connections, strict=True)]
    return (sum(after) - sum(before)) / sum(connections) / 1024, each


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(result: dict[str, Any]) -> None:
    steady: Tally = result["steady"]
    burst: Tally = result["burst"]
    memory = result["memory"]
    subscribers = sum(memory["connections"])
    latency = [d.latency_ms for d in steady.deliveries]
    local = [d.latency_ms for d in steady.deliveries if d.local]
    remote = [d.latency_ms for d in steady.deliveries if not d.local]
    burst_latency = [d.latency_ms for d in burst.deliveries]
    p99, burst_p99 = percentile(latency, 0.99), percentile(burst_latency, 0.99)
    subscribed, subscribed_each = kib_per_connection(
        memory["subscribed"], memory["before"], memory["connections"]
    )
    acked, acked_each = kib_per_connection(memory["acked"], memory["before"], memory["connections"])
    each = " / ".join(f"{k:.1f}" for k in subscribed_each)
    each_acked = " / ".join(f"{k:.1f}" for k in acked_each)
    rate = len(burst.deliveries) / result["burst_seconds"]
    rows = [
        (
            f"delivery p50, 1 mutation at a time ({len(latency)})",
            f"{statistics.median(latency):.1f} ms",
            "",
            "",
        ),
        (
            "delivery p99, 1 mutation at a time",
            f"{p99:.1f} ms",
            f"<= {TARGET_P99_MS:.0f} ms",
            verdict(p99 <= TARGET_P99_MS),
        ),
        (
            "  p50 same process / other process",
            f"{statistics.median(local):.1f} / {statistics.median(remote):.1f} ms",
            "",
            "",
        ),
        ("  mutation HTTP answer p50", f"{statistics.median(steady.http_ms):.1f} ms", "", ""),
        (
            f"delivery p50 / p99, bursts of {USERS} mutations",
            f"{statistics.median(burst_latency):.0f} / {burst_p99:.0f} ms",
            f"<= {TARGET_P99_MS:.0f} ms",
            verdict(burst_p99 <= TARGET_P99_MS),
        ),
        (
            "  mutation HTTP answer p50 / max in bursts",
            f"{statistics.median(burst.http_ms):.0f} / {max(burst.http_ms):.0f} ms",
            "",
            "",
        ),
        (f"deliveries per second in bursts ({len(burst.deliveries)})", f"{rate:,.0f} /s", "", ""),
        (
            "idle memory per connection, subscribed",
            f"{subscribed:.1f} KiB",
            f"<= {TARGET_KIB:.0f} KiB",
            verdict(subscribed <= TARGET_KIB),
        ),
        ("  per process", f"{each} KiB", "", ""),
        (
            "idle memory per connection, ack only",
            f"{acked:.1f} KiB",
            f"<= {TARGET_KIB:.0f} KiB",
            verdict(acked <= TARGET_KIB),
        ),
        ("  per process", f"{each_acked} KiB", "", ""),
        (
            f"open {subscribers} sockets (init + ack)",
            f"{result['open_seconds']:.1f} s",
            "",
            "",
        ),
        (
            f"subscribe {subscribers} + first delivery to each",
            f"{result['subscribe_seconds']:.1f} s",
            "",
            "",
        ),
    ]
    print(
        f"\nRealtime: {PROCESSES} x `aurum serve --no-worker` on one PostgreSQL and Redis, {subscribers} "
        f"subscribers ({USERS} users x {SOCKETS_PER_USER} sockets, "
        f"{' + '.join(str(n) for n in memory['connections'])} per process), "
        "recordChanged { cursor operation entityId }\n"
    )
    print(
        f"machine: {result['cpus']} CPUs shared by both servers, PostgreSQL, Redis and the bench client; "
        f"load average {result['load']:.1f} when this part started\n"
    )
    print(f"{'':48}{'measured':>18}{'target':>12}{'':>7}")
    for label, measured, target, mark in rows:
        print(f"{label:48}{measured:>18}{target:>12}{mark:>7}")
    for title, meter in (("one at a time", result["steady_cpu"]), ("bursts", result["burst_cpu"])):
        used = ", ".join(f"{name} {seconds:.1f}" for name, seconds in meter.used.items())
        print(f"\nCPU seconds {title} (wall {meter.wall:.1f} s): {used}")
    servers = sum(v for k, v in result["burst_cpu"].used.items() if k.startswith("server"))
    print(
        f"server CPU per delivery in bursts, its share of the mutation included (1 mutation per "
        f"{SOCKETS_PER_USER} deliveries): {servers / len(burst.deliveries) * 1e6:.0f} us"
    )
    mb = [
        f"{b / 2**20:.0f} -> {a / 2**20:.0f} -> {s / 2**20:.0f}"
        for b, a, s in zip(memory["before"], memory["acked"], memory["subscribed"], strict=True)
    ]
    print(f"RSS MiB per process (before -> acked -> subscribed): {'; '.join(mb)}")
    duplicates = steady.duplicates + burst.duplicates
    print(
        f"permessage-deflate answered to a client offering it: {result['compression'] or 'none'}; "
        f"unexpected events: {result['unexpected']}; duplicates: {duplicates}; sockets closed by a server: "
        f"{result['closed_early']}; other messages: {result['other_messages'] or 'none'}"
    )
    for index, logged in enumerate(result["server_warnings"]):
        for message, count in logged.items():
            print(f"server {index} logged {count}x: {message}")


async def main() -> None:
    report(await measure())


if __name__ == "__main__":  # the realtime part alone: python -m bench.realtime
    asyncio.run(main())
