"""Liveness, readiness and the in-process job worker."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.resources import Resources
from tests.support import GraphQLClient


async def test_liveness_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_checks_database_and_redis(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    for name in ("database", "redis"):
        check = body["checks"][name]
        assert check["ok"] is True, check
        assert isinstance(check["ms"], int | float), check
        assert not isinstance(check["ms"], bool), check
        assert check["ms"] >= 0


async def test_health_responses_carry_a_request_id(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.headers.get("x-request-id")


async def test_in_process_worker_runs_jobs(http: httpx.AsyncClient, resources: Resources) -> None:
    # Depending on `http` starts the server, and with it the in-process worker.
    job_id = f"test-ping-{uuid.uuid4().hex}"
    payload = uuid.uuid4().hex[:8]
    assert await resources.jobs.enqueue("ping", payload, job_id=job_id) is True
    assert await resources.jobs.result(job_id, timeout=5) == f"pong:{payload}"


async def test_enqueue_with_a_queued_job_id_queues_nothing_new(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    job_id = f"test-ping-{uuid.uuid4().hex}"
    assert await resources.jobs.enqueue("ping", "once", job_id=job_id) is True
    assert await resources.jobs.enqueue("ping", "twice", job_id=job_id) is False
    assert await resources.jobs.result(job_id, timeout=5) == "pong:once"


async def test_connections_the_database_dropped_are_replaced_without_a_failed_request(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    """A database restart (here: every app backend terminated) costs no request an error."""
    pillar = "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id } } }"
    # Fill the pool: as many concurrent requests as it holds connections.
    size = resources.settings.db_pool_size
    await asyncio.gather(*(alice.ok("{ pillars { totalCount } }") for _ in range(size)))
    async with owner.connect() as connection:
        terminated = (
            (
                await connection.execute(
                    text(
                        "SELECT pid FROM (SELECT pid FROM pg_stat_activity WHERE application_name = 'aurum'"
                        " AND pid <> pg_backend_pid() OFFSET 0) AS app WHERE pg_terminate_backend(pid)"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert terminated
    await _wait_until_gone(owner, terminated)
    results = await asyncio.gather(
        *(alice.execute("{ pillars { totalCount } }") for _ in range(size)),
        alice.execute(pillar, {"input": {"name": "After the restart"}}),
    )
    assert [r.get("errors") for r in results] == [None] * (size + 1)
    assert (await alice.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 1


async def _wait_until_gone(owner: AsyncEngine, pids: list[int]) -> None:
    # pg_stat_activity is a snapshot taken at its first read in a transaction: each look needs its own.
    deadline = time.monotonic() + 10
    while True:
        async with owner.connect() as connection:
            listed = await connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}
            )
        if not listed:
            return
        assert time.monotonic() < deadline, "terminated backends still listed"
        await asyncio.sleep(0.02)
