"""The ARQ worker: the functions it runs and how it is started, alone or inside ``aurum serve``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from arq.worker import Worker

from aurum.jobs import QUEUE_NAME, redis_settings
from aurum.resources import Resources

log = structlog.get_logger(__name__)


async def ping(ctx: dict[str, Any], payload: str) -> str:
    """Answer at once: proves end to end that jobs are picked up (used by health checks and tests)."""
    return f"pong:{payload}"


FUNCTIONS = [ping]


def build_worker(resources: Resources) -> Worker:
    return Worker(
        functions=FUNCTIONS,
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings(resources.redis_url),
        handle_signals=False,
        poll_delay=resources.settings.worker_poll_delay,
        ctx={"resources": resources},
        keep_result=600,
    )


@asynccontextmanager
async def running_worker(resources: Resources) -> AsyncIterator[Worker]:
    """Run a worker in this process for the duration of the block."""
    worker = build_worker(resources)
    task = asyncio.create_task(worker.main(), name="arq-worker")
    log.info("worker started", functions=[f.__name__ for f in FUNCTIONS])
    try:
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
