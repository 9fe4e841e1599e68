"""The long-lived things a process holds: settings, the database engine, Redis and the job queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aurum.db import BACKGROUND, create_engine, create_sessionmaker
from aurum.embedded import client_name, embedded_endpoints
from aurum.jobs import JobQueue
from aurum.redis_server import RedisServer
from aurum.settings import Settings

if TYPE_CHECKING:
    from aurum.auth.revocation import Revocations
    from aurum.hrm.llm import ModelClient


async def _as_background(kind: str, work: Coroutine[Any, Any, None]) -> None:
    BACKGROUND.set(kind)
    await work


@dataclass
class Resources:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    jobs: JobQueue
    redis_server: RedisServer = field(default_factory=RedisServer)  # whom ``redis`` is connected to
    background: set[asyncio.Task[None]] = field(default_factory=set)
    model_client: ModelClient | None = None  # made on first use: aurum.hrm.llm.model_client
    revocations: Revocations | None = None  # made on first use: aurum.auth.revocation.revocations
    # Per user, until when (time.monotonic()) a scoring job this process queued cannot have started
    # (aurum.hrm.scoring.request_rescore).
    rescores_queued: dict[uuid.UUID, float] = field(default_factory=dict)

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run follow-up work without holding up the answer; it is awaited before the process closes."""
        task = asyncio.create_task(_as_background("after-commit", work))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def announce(self, user_id: uuid.UUID) -> None:
        """After a commit: wake the subscribers of this user's new events, wherever they are connected."""
        from aurum.events.publish import announce

        self.in_background(announce(self, user_id))

    async def settle(self) -> None:
        if self.background:
            await asyncio.wait(set(self.background), timeout=10)


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Start what is embedded, connect to everything, and close it all again on exit."""
    async with embedded_endpoints(settings) as endpoints:
        engine = create_engine(endpoints.database_url, settings)
        redis_server = RedisServer()
        redis: Redis = Redis.from_url(
            endpoints.redis_url,
            decode_responses=False,
            socket_timeout=5,
            socket_connect_timeout=2,
            client_name=client_name(),
            redis_connect_func=redis_server.on_connect,
        )
        jobs = await JobQueue.connect(endpoints.redis_url)
        resources = Resources(
            settings=settings,
            database_url=endpoints.database_url,
            redis_url=endpoints.redis_url,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=redis,
            jobs=jobs,
            redis_server=redis_server,
        )
        try:
            yield resources
        finally:
            await resources.settle()
            if resources.model_client is not None:
                await resources.model_client.aclose()
            await jobs.close()
            await redis.aclose()
            await engine.dispose()
