"""Liveness (the process answers) and readiness (PostgreSQL and Redis answer, with timings)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from aurum.resources import Resources


async def liveness(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await check()
    except Exception as error:
        return {
            "ok": False,
            "error": type(error).__name__,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


async def readiness(request: Request) -> JSONResponse:
    resources: Resources = request.app.state.resources

    async def database() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await resources.redis.ping()

    checks = {"database": await _timed(database), "redis": await _timed(redis)}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
