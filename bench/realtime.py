"""Realtime: mutation → delivery over WebSockets with two API processes sharing PostgreSQL and Redis, at
1,000 and then 10,000 idle subscribers.

Two ``aurum serve --no-worker`` subprocesses run on one embedded PostgreSQL and Redis (in a temporary
directory); a third registers the users and is stopped before anything is measured. Each user holds 20
sockets, 10 on each process, subscribed to ``recordChanged``, so every mutation reaches sockets on the
process that made it and on the other one. First 50 users hold 1,000 sockets; then 450 more users join, for
10,000 (5,000 per process), the same 20 sockets per user, so that only the number of subscribers changes.

The sockets and the users' HTTP connections live in several client processes (``bench.realtime_client``),
each user's in one: a delivery is timed from its mutation's send to its receipt in that one process.

Measured at each size:
- delivery latency, one mutation at a time (the HTTP request alternates between the processes), and in
  bursts of 50 users' mutations at once (1,000 deliveries a burst at both sizes); at 10,000 also bursts of
  every user at once (10,000 deliveries), for deliveries per second under load;
- memory per idle connection: RSS of each server before opening any socket, after its sockets are
  acknowledged, and after they subscribed;
- the servers' CPU while every socket is open and nothing happens (keep-alive pings, rechecks);
- CPU seconds of the servers, PostgreSQL, Redis, the bench's own processes and anything else on the machine
  in each phase (``bench.realtime_cpu``; ``BENCH_PROFILE=<directory>`` adds py-spy's samples of each server).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from aurum.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from aurum.ids import to_global_id
from aurum.migrate import upgrade
from aurum.realtime.graphql import encode_cursor
from bench.accounts import REGISTER as REGISTER  # where hostile.py and analysis.py find it
from bench.accounts import sign_up
from bench.realtime_client import CREATE, PROTOCOL, now
from bench.realtime_cpu import CpuMeter, GcPauses, gc_probe_env
from bench.realtime_report import report

PROCESSES = 2
SIZES = (1_000, 10_000)  # subscribers, all idle but for the users a measurement makes mutate
SOCKETS_PER_USER = 20  # split evenly over the processes (the per-process cap per user is 20)
CLIENT_PROCESSES = 4
OPEN_CONCURRENCY = 48  # sockets being opened at once, over all client processes
LATENCY_MUTATIONS = 200
BURST_USERS = 50
BURST_ROUNDS = 5
IDLE_SECONDS = 5.0
FULL_BURST_ROUNDS = 2  # at the largest size: every user at once
REGISTER_CONCURRENCY = 4
TARGET_P99_MS = 250.0
TARGET_KIB = 30.0

REPOSITORY = Path(__file__).resolve().parent.parent  # where ``-m bench.realtime_client`` is found
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"


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
async def api_process(index: int, directory: Path, found: Engines, **extra: str) -> AsyncIterator[ApiProcess]:
    """``aurum serve --no-worker`` on a free port (``extra`` in its environment), healthy on exit of the
    ``async with`` header."""
    port = free_port()
    env = serve_env(found, directory / f"data-{index}", **extra)
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

# --- the client processes ---


@dataclass
class ClientProcess:
    """A ``bench.realtime_client`` process and the users whose sockets and HTTP connections it holds."""

    process: asyncio.subprocess.Process
    users: list[int] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one command at a time

    async def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        async with self.lock:
            stdin.write(orjson.dumps({"op": op, **arguments}) + b"\n")
            await stdin.drain()
            line = await stdout.readline()
        if not line:
            raise RuntimeError(f"bench client {self.process.pid} exited ({self.process.returncode})")
        answer: dict[str, Any] = orjson.loads(line)
        if "error" in answer:
            raise RuntimeError(f"bench client {self.process.pid}: {answer['error']}")
        return answer


@asynccontextmanager
async def client_processes(count: int) -> AsyncIterator[list[ClientProcess]]:
    clients: list[ClientProcess] = []
    try:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.realtime_client",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                limit=2**26,  # an answer is one line, a burst's deliveries and all
                cwd=REPOSITORY,
            )
            clients.append(ClientProcess(process))
        yield clients
    finally:
        for client in clients:
            if client.process.returncode is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.call("close"), 30)
        for client in clients:
            try:
                await asyncio.wait_for(client.process.wait(), 10)
            except TimeoutError:
                client.process.kill()
                await client.process.wait()


@dataclass
class Tally:
    """Deliveries as (latency ms, on the process that ran the mutation, arrival), HTTP answer times, and
    when each mutation was sent (monotonic seconds)."""

    deliveries: list[tuple[float, bool, float]] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    duplicates: int = 0

    def add(self, answer: dict[str, Any]) -> None:
        self.deliveries.extend((d[0], d[1], d[2]) for d in answer["deliveries"])
        self.http_ms.extend(answer["http_ms"])
        self.sent.extend(answer["sent"])
        self.duplicates += answer["duplicates"]

    @property
    def latency_ms(self) -> list[float]:
        return [d[0] for d in self.deliveries]


# --- the run ---


@dataclass
class Registered:
    index: int
    token: str
    user_id: uuid.UUID
    pillar: uuid.UUID  # the pillar its updates rename


async def register(http: httpx.AsyncClient, index: int) -> Registered:
    """A new user, signed up from an address of its own, with a pillar to rename."""
    token, user_id = await sign_up(http, f"realtime-{index}-{uuid.uuid4().hex[:8]}@example.com")
    pillar = uuid.uuid4()
    body = {"query": CREATE, "variables": {"input": {"id": str(pillar), "name": "Pillar"}}}
    created = await http.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"})
    if created.json()["data"]["pillarCreate"]["pillar"]["id"] != to_global_id("Pillar", pillar):
        raise RuntimeError(created.text)
    return Registered(index, token, user_id, pillar)


async def register_all(registrar: ApiProcess, count: int) -> list[Registered]:
    """``count`` users through the registrar (Argon2 hashing: a few at a time)."""
    limits = httpx.Limits(max_connections=REGISTER_CONCURRENCY)
    async with httpx.AsyncClient(base_url=registrar.url, timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def one(index: int) -> Registered:
            async with gate:
                return await register(http, index)

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def compression_offered_back(url: str) -> str | None:
    """Offer permessage-deflate and return the extension header the server answers with (None: declined)."""
    async with connect(url.replace("http://", "ws://", 1) + "/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


async def last_cursors(connection: asyncpg.Connection, users: list[Registered]) -> dict[str, str]:
    """Each user's newest event as a cursor, by user index (as the client processes know them)."""
    rows = await connection.fetch(
        "SELECT user_id, max(id) AS last FROM events WHERE user_id = ANY($1) GROUP BY user_id",
        [u.user_id for u in users],
    )
    last = {row["user_id"]: int(row["last"]) for row in rows}
    return {str(u.index): encode_cursor(last.get(u.user_id, 0)) for u in users}


@dataclass
class Run:
    """What a stage needs: the servers, the client processes and who owns which user."""

    servers: list[ApiProcess]
    found: Engines
    clients: list[ClientProcess]
    users: list[Registered]
    database: asyncpg.Connection
    gc: GcPauses

    def owner(self, user: int) -> ClientProcess:
        return self.clients[user % len(self.clients)]

    def meter(self) -> CpuMeter:
        return CpuMeter(self.servers, self.found, self.clients, self.gc)

    async def each_client(
        self, users: list[int], command: Callable[[list[int]], dict[str, Any]]
    ) -> list[Any]:
        """``command`` for each client process with its share of ``users``, all at once."""
        shares = {id(c): [u for u in users if self.owner(u) is c] for c in self.clients}
        return list(
            await asyncio.gather(*(c.call(**command(shares[id(c)])) for c in self.clients if shares[id(c)]))
        )


@dataclass
class Burst:
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0  # from sending each burst to its last delivery, summed over the bursts
    laps: int = 0
    cpu: CpuMeter | None = None


def burst_command(through: dict[int, int], create: bool, share: list[int]) -> dict[str, Any]:
    return {"op": "burst", "through": {str(u): through[u] for u in share}, "create": create}


async def bursts(run: Run, rounds: list[list[int]]) -> Burst:
    """Each round: a mutation of every user in it at once, each through the server its lap gives it."""
    burst = Burst()
    with run.meter() as burst.cpu:
        for lap, users in enumerate(rounds):
            start = now()
            # Half the mutations through each server, each user through the other one at the next lap;
            # creations and updates in turn.
            through = {u: (i + lap) % PROCESSES for i, u in enumerate(users)}
            command = functools.partial(burst_command, through, lap % 2 == 1)
            answers = await run.each_client(users, command)
            lap_tally = Tally()
            for answer in answers:
                lap_tally.add(answer)
            burst.seconds += max(d[2] for d in lap_tally.deliveries) - start
            burst.laps += 1
            burst.tally.add(
                {
                    "deliveries": lap_tally.deliveries,
                    "http_ms": lap_tally.http_ms,
                    "sent": lap_tally.sent,
                    "duplicates": lap_tally.duplicates,
                }
            )
    return burst


@dataclass
class Stage:
    subscribers: int
    users: int
    connections: list[int]  # sockets per server, all opened so far
    added: int  # sockets opened in this stage
    acked: list[int]  # RSS of each server
    subscribed: list[int]
    open_seconds: float
    subscribe_seconds: float
    load: float
    joining_cpu: CpuMeter
    idle_cpu: CpuMeter
    steady: Tally
    steady_cpu: CpuMeter
    burst: Burst
    full: Burst | None


async def stage(
    run: Run, joining: list[Registered], present: list[Registered], held: list[int], largest: bool
) -> Stage:
    """Open and subscribe the sockets of the users ``joining`` (the servers hold ``held`` already), then
    measure with everyone ``present``."""
    load = os.getloadavg()[0]
    indices = [u.index for u in joining]
    per_client = max(1, OPEN_CONCURRENCY // len(run.clients))
    with run.meter() as joining_cpu:
        started = time.perf_counter()
        opened = await run.each_client(
            indices,
            lambda share: {
                "op": "open",
                "users": share,
                "sockets": SOCKETS_PER_USER,
                "concurrency": per_client,
            },
        )
        open_seconds = time.perf_counter() - started
        connections = [held[i] + sum(o["per_server"][i] for o in opened) for i in range(PROCESSES)]
        acked = [s.rss() for s in run.servers]

        # Subscribed from each user's current cursor (no gap between subscribing and the first mutation),
        # confirmed by one delivery to every socket.
        cursors = await last_cursors(run.database, joining)
        started = time.perf_counter()
        await run.each_client(
            indices, lambda share: {"op": "subscribe", "cursors": {str(u): cursors[str(u)] for u in share}}
        )
        subscribe_seconds = time.perf_counter() - started
        subscribed = [s.rss() for s in run.servers]
    with run.meter() as idle_cpu:  # what holding the sockets costs when nothing happens
        await asyncio.sleep(IDLE_SECONDS)

    everyone = [u.index for u in present]
    steady = Tally()
    with run.meter() as steady_cpu:
        for i in range(LATENCY_MUTATIONS):
            user, lap = everyone[i % len(everyone)], i // len(everyone)
            answer = await run.owner(user).call(
                "mutate", user=user, server=(i + lap) % PROCESSES, create=(i // PROCESSES) % 2 == 1
            )
            steady.add(answer)
    stride = len(everyone) // BURST_USERS
    rounds = [
        [everyone[(j * stride + r) % len(everyone)] for j in range(BURST_USERS)] for r in range(BURST_ROUNDS)
    ]
    burst = await bursts(run, rounds)
    full = await bursts(run, [everyone] * FULL_BURST_ROUNDS) if largest else None
    return Stage(
        len(present) * SOCKETS_PER_USER,
        len(present),
        connections,
        sum(connections) - sum(held),
        acked,
        subscribed,
        open_seconds,
        subscribe_seconds,
        load,
        joining_cpu,
        idle_cpu,
        steady,
        steady_cpu,
        burst,
        full,
    )


async def measure(sizes: Sequence[int] = SIZES) -> dict[str, Any]:
    """A stage at each number of subscribers (multiples of 20, ascending); full bursts at the last."""
    largest = max(sizes)
    raise_fd_limit(2 * largest + 1024)  # the client processes inherit it
    config = {
        "processes": PROCESSES,
        "sockets_per_user": SOCKETS_PER_USER,
        "clients": CLIENT_PROCESSES,
        "burst_users": BURST_USERS,
    }
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load": os.getloadavg(), "config": config}
    with tempfile.TemporaryDirectory(prefix="aurum-rt-") as name:
        directory = Path(name)
        async with AsyncExitStack() as stack:
            found = await stack.enter_async_context(engines(directory))
            # A third process registers the users, so that the garbage of registering (argon2, the first
            # requests) is not in the measured servers' baseline, where sockets would reuse it unseen.
            registrar_stack = AsyncExitStack()
            stack.push_async_callback(registrar_stack.aclose)
            probed = gc_probe_env(directory / "gc")
            async with asyncio.TaskGroup() as group:  # one failing to start stops the others
                starting = [
                    group.create_task(stack.enter_async_context(api_process(i, directory, found, **probed)))
                    for i in range(PROCESSES)
                ]
                registering = group.create_task(
                    registrar_stack.enter_async_context(api_process(PROCESSES, directory, found))
                )
            servers = [task.result() for task in starting]
            started = time.perf_counter()
            users = await register_all(registering.result(), largest // SOCKETS_PER_USER)
            result["register_seconds"] = time.perf_counter() - started
            await registrar_stack.aclose()
            result["compression"] = await compression_offered_back(servers[0].url)
            database = await asyncpg.connect("postgresql://" + found.database_url.split("://", 1)[1])
            stack.push_async_callback(database.close)
            clients = await stack.enter_async_context(client_processes(CLIENT_PROCESSES))
            run = Run(servers, found, clients, users, database, GcPauses(servers, directory / "gc"))
            await asyncio.gather(
                *(
                    c.call(
                        "setup",
                        servers=[s.url for s in servers],
                        users=[
                            {"index": u.index, "token": u.token, "pillar": str(u.pillar)}
                            for u in users
                            if run.owner(u.index) is c
                        ],
                    )
                    for c in clients
                )
            )

            # Warm-up: one subscribed socket per process and a delivery, so one-time costs are not counted.
            warm = users[0]
            await run.owner(warm.index).call(
                "warm", user=warm.index, cursor=(await last_cursors(database, [warm]))[str(warm.index)]
            )
            result["before"] = [s.rss() for s in servers]

            stages: list[Stage] = []
            present = 0
            for size in sizes:
                count = size // SOCKETS_PER_USER
                held = stages[-1].connections if stages else [0] * PROCESSES
                stages.append(await stage(run, users[present:count], users[:count], held, size == largest))
                present = count
            result["stages"] = stages
            answers = [await c.call("report") for c in clients]
            result["closed_early"] = sum(a["closed_early"] for a in answers)
            result["other_messages"] = [m for a in answers for m in a["others"]][:3]
            result["unexpected"] = sum(a["unexpected"] for a in answers)
            result["server_warnings"] = [server.warnings() for server in servers]
    return result


async def main(arguments: Sequence[str] = ()) -> None:
    """``python -m bench realtime [SUBSCRIBERS ...]``: by default 1,000 then 10,000."""
    sizes = tuple(int(a) for a in arguments) or SIZES
    if list(sizes) != sorted(sizes) or any(s <= 0 or s % SOCKETS_PER_USER for s in sizes):
        raise SystemExit(f"subscriber counts must ascend, each a multiple of {SOCKETS_PER_USER}")
    report(await measure(sizes))


if __name__ == "__main__":  # the realtime part alone: python -m bench.realtime
    asyncio.run(main(sys.argv[1:]))
