"""The long-lived things a process holds: settings, the database engine, Redis and the job queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aurum.db import create_engine, create_sessionmaker
from aurum.embedded import embedded_endpoints
from aurum.jobs import JobQueue
from aurum.settings import Settings


@dataclass
class Resources:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    jobs: JobQueue


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Start what is embedded, connect to everything, and close it all again on exit."""
    async with embedded_endpoints(settings) as endpoints:
        engine = create_engine(endpoints.database_url, settings)
        redis: Redis = Redis.from_url(endpoints.redis_url, decode_responses=False)
        jobs = await JobQueue.connect(endpoints.redis_url)
        try:
            yield Resources(
                settings=settings,
                database_url=endpoints.database_url,
                redis_url=endpoints.redis_url,
                engine=engine,
                sessionmaker=create_sessionmaker(engine),
                redis=redis,
                jobs=jobs,
            )
        finally:
            await jobs.close()
            await redis.aclose()
            await engine.dispose()
