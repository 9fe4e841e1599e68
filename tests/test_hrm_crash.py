"""A worker killed in the middle of an analysis: after a restart the run completes exactly once.

Real ``aurum worker`` processes run the job, on the suite's PostgreSQL but a Redis of their own (the test
server's in-process worker reads the suite's queue and would take the job). The first one is SIGKILLed while
the stand-in Gemini holds the model call; the second one's start-up sweep finds the run stuck and queues it
again. The dead worker's own job is still in the queue, claimed until its lease runs out: it is let run too
(the lease cut short), and the job is called once more directly; neither changes a thing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.db import Actor, unit_of_work
from aurum.embedded import start_redis, stop_redis
from aurum.hrm import analysis
from aurum.hrm.findings import Scope
from aurum.jobs import JobQueue
from aurum.resources import Resources
from aurum.settings import Settings
from tests.gemini import MODEL_VERSION, StandInGemini, answer, hang
from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, uuid_of, wait_for
from tests.test_hrm_live import ADVICE, enable_ai

STUCK_SECONDS = 1
IN_PROGRESS = "arq:in-progress:"  # ARQ's claim on a job being run: a dead worker's lasts until it expires


@dataclasses.dataclass
class Queue:
    """The Redis of the test's workers: its URL, its job queue and a plain client."""

    url: str
    jobs: JobQueue
    redis: Redis


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[Queue]:
    server, url = await asyncio.to_thread(start_redis, tmp_path / "redis")
    try:
        jobs = await JobQueue.connect(url)
        redis: Redis = Redis.from_url(url)
        try:
            yield Queue(url, jobs, redis)
        finally:
            await redis.aclose()
            await jobs.close()
    finally:
        await asyncio.to_thread(stop_redis, server, force=True)


def worker_env(
    settings: Settings, gemini: StandInGemini, queue: Queue, data: Path, stuck: float
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    assert settings.database_url is not None
    return env | {
        "AURUM_DATABASE_URL": settings.database_url,
        "AURUM_REDIS_URL": queue.url,
        "AURUM_SECRET_KEY": settings.secret_key or "",
        "AURUM_DATA_DIR": str(data),
        "AURUM_SMTP_URL": settings.smtp_url or "",
        "AURUM_GEMINI_API_KEY": gemini.api_key,
        "AURUM_GEMINI_BASE_URL": gemini.url,
        "AURUM_GEMINI_TIMEOUT": "60",  # the hang lasts until the kill, not until a timeout
        "AURUM_GEMINI_MAX_ATTEMPTS": "1",
        "AURUM_ANALYSIS_STUCK_SECONDS": str(stuck),
        "AURUM_LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def worker(
    env: dict[str, str], directory: Path, name: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``aurum worker`` as a subprocess, its output in ``directory/name.log``; stopped on exit if alive."""
    aurum = Path(sys.executable).with_name("aurum")
    with (directory / f"{name}.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            str(aurum), "worker", env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def ready(queue: Queue, process: asyncio.subprocess.Process, log: Path) -> None:
    """The worker answers a ping job: it is connected and polling its queue."""
    job_id = f"ping:{uuid.uuid4()}"
    await queue.jobs.enqueue("ping", "ready", job_id=job_id)
    try:
        assert await queue.jobs.result(job_id, timeout=60) == "pong:ready"
    except TimeoutError:
        raise AssertionError(
            f"the worker never answered (exit {process.returncode}): {await asyncio.to_thread(log.read_text)}"
        ) from None


async def run_row(owner: AsyncEngine, run_id: uuid.UUID) -> Any:
    async with owner.connect() as connection:
        return (
            await connection.execute(
                text(
                    "SELECT status, attempts, error, model, version, updated_at, finished_at"
                    " FROM analysis_runs WHERE id = :id"
                ),
                {"id": run_id},
            )
        ).one()


async def looks_stuck(owner: AsyncEngine, run_id: uuid.UUID) -> bool:
    """Whether the run went without a change for longer than the restarted worker's threshold."""
    async with owner.connect() as connection:
        found = await connection.scalar(
            text("SELECT updated_at < now() - make_interval(secs => :s) FROM analysis_runs WHERE id = :id"),
            {"id": run_id, "s": STUCK_SECONDS},
        )
    return bool(found)


async def insights_of(owner: AsyncEngine, run_id: uuid.UUID) -> list[Any]:
    """The run's insights by key, how many rows each, and how many CREATED events they had."""
    async with owner.connect() as connection:
        return list(
            (
                await connection.execute(
                    text(
                        "SELECT i.dedupe_key, i.source, count(DISTINCT i.id) AS rows,"
                        " count(e.id) AS events, min(i.id::text) AS id FROM insights i"
                        " LEFT JOIN events e ON e.entity_id = i.id AND e.operation = 'CREATED'"
                        " WHERE i.run_id = :id GROUP BY i.dedupe_key, i.source ORDER BY i.dedupe_key"
                    ),
                    {"id": run_id},
                )
            ).all()
        )


async def test_a_worker_killed_mid_job_leaves_a_run_that_completes_exactly_once_after_a_restart(
    settings: Settings,
    resources: Resources,
    owner: AsyncEngine,
    alice: GraphQLClient,
    gemini: StandInGemini,
    queue: Queue,
    tmp_path: Path,
) -> None:
    project = await make_project(alice, await make_area(alice, await make_pillar(alice)), name="Crash course")
    for n in range(3):
        await make_task(alice, project, f"Late {n}", dueDate="2020-01-0" + str(n + 1))
    await enable_ai(alice)
    user_id, project_id = uuid_of(alice.user_id), uuid_of(project, "Project")

    def asked() -> int:  # the model calls of this run (a worker may also pick up stuck runs of others)
        return sum(1 for r in gemini.requests if str(project_id) in r.contents)

    gemini.default = hang()
    # The first worker sweeps nothing of ours: only the restarted one may find the run stuck.
    first_env = worker_env(settings, gemini, queue, tmp_path / "data", stuck=3600)
    async with worker(first_env, tmp_path, "first") as first:
        await ready(queue, first, tmp_path / "first.log")
        async with unit_of_work(resources.sessionmaker, user_id, Actor("user", user_id)) as uow:
            run, created = await analysis.request(
                uow,
                dataclasses.replace(resources, jobs=queue.jobs),
                Scope("project", project_id),
                "balanced",
                False,
            )
        assert created
        await wait_for(lambda: asked() == 1, "the first worker to ask the model", timeout=30)
        mid_job = await run_row(owner, run.id)
        assert (mid_job.status, mid_job.attempts) == ("running", 1)
        first.kill()
        assert await first.wait() == -signal.SIGKILL

    gemini.default = answer(ADVICE)
    gemini.release()
    assert (await run_row(owner, run.id)).status == "running"  # nobody finished it
    assert await queue.redis.exists(IN_PROGRESS + str(run.id))  # and the dead worker's claim still stands

    await wait_for(lambda: looks_stuck(owner, run.id), "the run to look stuck", timeout=STUCK_SECONDS + 10)
    second_env = first_env | {"AURUM_ANALYSIS_STUCK_SECONDS": str(STUCK_SECONDS)}
    async with worker(second_env, tmp_path, "second") as second:

        async def finished() -> bool:
            return (await run_row(owner, run.id)).status in ("succeeded", "failed")

        await wait_for(finished, "the restarted worker to finish the run", timeout=60)
        done = await run_row(owner, run.id)
        assert (done.status, done.attempts, done.error, done.model) == ("succeeded", 2, None, MODEL_VERSION)
        written = await insights_of(owner, run.id)
        assert {row.source for row in written} == {"rules", "llm"}
        assert all((row.rows, row.events) == (1, 1) for row in written), written
        assert asked() == 2

        # The dead worker's job, once its claim runs out (cut short here), is run as well: it finds the run
        # finished. So does any further delivery.
        assert await queue.redis.pexpire(IN_PROGRESS + str(run.id), 1)
        assert await queue.jobs.result(str(run.id), timeout=30) == "finished already"
        again = await analysis.analyse({"resources": resources, "job_try": 1}, str(run.id), str(user_id))
        assert again == "finished already"
        assert second.returncode is None

    assert await run_row(owner, run.id) == done
    assert await insights_of(owner, run.id) == written
    assert asked() == 2
