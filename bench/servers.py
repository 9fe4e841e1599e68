"""The servers of the side-by-side bench, each in a process of its own on loopback: ``aurum serve
--no-worker`` and ``aurum worker`` (as ``make run`` has them, in one process), PostGraphile 4 under Node, and
the raw floor (bench/floor.py); with what the bench does to them: pause (SIGSTOP) the ones not measured, wait
for Aurum's background work to finish, and meter their CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil

from bench.realtime import Engines, free_port, serve_env

BENCH = Path(__file__).resolve().parent
NODE_MODULES = BENCH / "node_modules"
STARTUP_SECONDS = 120.0
# Aurum's settings for the bench's servers, beyond serve_env's. The per-minute query budget and the operation
# timeout are lifted: the bench asks for the 20,000-task tree hundreds of times a minute, and at
# concurrency 8 today's resolver path takes longer than the default 10 s for one; both would otherwise
# answer with refusals, not with the time the work takes.
AURUM_ENV = {
    "AURUM_QUERY_BUDGET": "100000000",
    "AURUM_OPERATION_TIMEOUT": "300",
    "AURUM_ACCESS_TOKEN_MINUTES": "240",  # the accounts' tokens outlive the whole run
}


@dataclass
class Server:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: IO[str]
    paused: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def pause(self) -> None:
        if not self.paused:
            os.kill(self.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            os.kill(self.pid, signal.SIGCONT)
            self.paused = False


Probe = Callable[[httpx.AsyncClient], Awaitable[bool]]


@asynccontextmanager
async def spawned(
    name: str, argv: list[str], env: dict[str, str], directory: Path, probe: Probe | None, port: int = 0
) -> AsyncIterator[Server]:
    """A server process, ready once ``probe`` says so (``None``: at once), stopped on exit."""
    with tempfile.TemporaryFile("w+", dir=directory) as log:
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory
        )
        server = Server(name, port, process, log)
        try:
            if probe is not None:
                await ready(server, probe)
            yield server
        finally:
            server.resume()
            await stop(process)
            if "Traceback" in server.output():
                print(f"{name} logged a traceback:\n{server.output()}", file=sys.stderr)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGINT, then SIGTERM, then SIGKILL (a job busy in Python for a minute hears no signal; a process
    started by a shell without job control ignores SIGINT)."""
    for sent, grace in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
        if process.returncode is not None:
            return
        process.send_signal(sent)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace)


async def ready(server: Server, probe: Probe) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.process.returncode is not None:
                raise RuntimeError(f"{server.name} exited ({server.process.returncode}): {server.output()}")
            with contextlib.suppress(httpx.TransportError):
                if await probe(http):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not start: {server.output()}")
            await asyncio.sleep(0.2)


async def _healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/health")).status_code == 200


def aurum_api(
    directory: Path, found: Engines, data: str = "data", **extra: str
) -> AbstractAsyncContextManager[Server]:
    port = free_port()
    aurum = str(Path(sys.executable).with_name("aurum"))
    argv = [aurum, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    env = serve_env(found, directory / data, **(AURUM_ENV | extra))
    return spawned("aurum serve --no-worker", argv, env, directory, _healthy, port)


ANSWERS = re.compile(r'^aurum_graphql_answers_total\{path="(\w+)"\} (\S+)$', re.MULTILINE)


async def aurum_answers(port: int) -> dict[str, int]:
    """Aurum's GraphQL requests so far by the path that answered them (compiled, resolvers), from /metrics."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        text = (await http.get("/metrics")).text
    return {path: int(float(count)) for path, count in ANSWERS.findall(text)}


def aurum_worker(directory: Path, found: Engines) -> AbstractAsyncContextManager[Server]:
    aurum = str(Path(sys.executable).with_name("aurum"))
    env = serve_env(found, directory / "data-worker", **AURUM_ENV)
    return spawned("aurum worker", [aurum, "worker"], env, directory, None)


def postgraphile(
    directory: Path, database_url: str, signing_key: str, token: str, export: Path | None = None
) -> AbstractAsyncContextManager[Server]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_ENV": "production",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "SIGNING_KEY": signing_key,
        "TOKEN_ISSUER": "aurum-life",
        "TOKEN_AUDIENCE": "aurum-life-api",
        "POOL_SIZE": "20",
        "EXPORT_SCHEMA": str(export or ""),
    }

    async def probe(http: httpx.AsyncClient) -> bool:
        headers = {"authorization": f"Bearer {token}"}
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        return response.status_code == 200

    argv = ["node", str(BENCH / "postgraphile" / "server.js")]
    return spawned("postgraphile", argv, env, directory, probe, port)


def floor(directory: Path, database_url: str, signing_key: str) -> AbstractAsyncContextManager[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_")}
    argv = [sys.executable, "-m", "bench.floor", str(port), database_url, signing_key]

    async def probe(http: httpx.AsyncClient) -> bool:
        return (await http.get("/")).status_code == 404

    env["PYTHONPATH"] = os.pathsep.join([str(BENCH.parent), env.get("PYTHONPATH", "")])
    return spawned("raw floor", argv, env, directory, probe, port)


def npm_ci() -> None:
    """PostGraphile's packages as the lock file has them, installed when missing or from another lock file
    (compared by content: a checkout or a rebase changes the lock file's time, not what it pins)."""
    lock = (BENCH / "package-lock.json").read_bytes()
    stamp = NODE_MODULES / ".installed-from"
    digest = hashlib.sha256(lock).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    print("bench: npm ci --prefix bench (PostGraphile 4)", file=sys.stderr)
    subprocess.run(
        ["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund", "--loglevel=error"], check=True
    )
    stamp.write_text(digest + "\n")


# --- pausing ---


@contextlib.contextmanager
def paused(servers: Iterable[Server]) -> Iterator[None]:
    """The servers stopped (SIGSTOP) for the block: only the measured arm runs beside the engines."""
    stopped = list(servers)
    for server in stopped:
        server.pause()
    try:
        yield
    finally:
        for server in stopped:
            server.resume()


# --- CPU ---


def engine_pids(found: Engines) -> list[int]:
    pids = []
    if found.postgres_pid is not None:
        with contextlib.suppress(psutil.Error):
            postmaster = psutil.Process(found.postgres_pid)
            pids = [found.postgres_pid, *(c.pid for c in postmaster.children(recursive=True))]
    if found.redis_pid is not None:
        pids.append(found.redis_pid)
    return pids


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            seconds[pid] = times.user + times.system
    return seconds


@dataclass
class CpuMeter:
    """CPU seconds of each group of processes between ``start`` and ``stop``."""

    groups: dict[str, Callable[[], list[int]]]
    begun: dict[str, dict[int, float]] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.begun = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        for name, pids in self.groups.items():
            now = cpu_seconds(pids())
            before = self.begun.get(name, {})
            self.used[name] = sum(value - before.get(pid, 0.0) for pid, value in now.items())
        return self.used
