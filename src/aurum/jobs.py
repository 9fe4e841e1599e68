"""The job facade: the only place besides the worker that knows jobs travel through ARQ."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

QUEUE_NAME = "aurum:jobs"


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


class JobQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, redis_url: str) -> JobQueue:
        return cls(await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME))

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None, defer: float = 0.0) -> bool:
        """Queue ``function`` (to start ``defer`` seconds from now); with a ``job_id`` already queued or
        running, nothing new is queued."""
        job = await self._pool.enqueue_job(
            function, *args, _job_id=job_id, _queue_name=QUEUE_NAME, _defer_by=defer or None
        )
        return job is not None

    async def pending(self, function_job_id: str) -> bool:
        """Whether the job is waiting or running (a finished job that keeps no result is not found)."""
        from arq.jobs import Job, JobStatus

        status = await Job(function_job_id, self._pool, _queue_name=QUEUE_NAME).status()
        return status in {JobStatus.deferred, JobStatus.queued, JobStatus.in_progress}

    async def result(self, function_job_id: str, timeout: float) -> Any:
        from arq.jobs import Job

        return await Job(function_job_id, self._pool, _queue_name=QUEUE_NAME).result(timeout=timeout)

    async def close(self) -> None:
        # ARQ hands redis-py a pool it made itself, which a plain aclose() leaves connected.
        await self._pool.aclose(close_connection_pool=True)
