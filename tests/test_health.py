"""Liveness, readiness and the in-process job worker."""

from __future__ import annotations

import uuid

import httpx

from aurum.resources import Resources


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
