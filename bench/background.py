"""Aurum's background work after writes, which the bench lets finish before it pauses Aurum or measures
another window: announcing events (the API process) and rescoring (the worker's jobs).

Pausing a process in the middle of a job could leave it holding the user's change-log lock, which every
writer of that user waits for, the other arms' inserts included (they fire the same triggers); so Aurum is
paused only when nothing is unannounced, queued or running, twice in a row (a write's job is queued just
after its events are announced).

A job that cannot finish would be queued again by every write: after ``patience`` seconds the jobs still
queued are dropped and counted, and the wait ends even with jobs running (the bench writes into 200-task
accounts only, where that has not happened; how creates scale with an account is ``bench writes``' to say).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from aurum.jobs import QUEUE_NAME

UNANNOUNCED = "SELECT count(*) FROM events WHERE published_at IS NULL"
RUNNING = "arq:in-progress:*"  # ARQ's key for a job under way
CRON = "arq:in-progress:cron:"  # kept a minute after a cron job ends; the crons only queue jobs or sweep
POLL = 0.1
CALM_POLLS = 2
STUCK_SECONDS = 120.0


@dataclass(frozen=True)
class Settled:
    seconds: float
    dropped: int = 0  # jobs still queued when the patience ran out
    running: int = 0  # jobs still under way then


async def busy(database: asyncpg.Connection, redis: Redis) -> tuple[int, int, int]:
    unannounced = int(await database.fetchval(UNANNOUNCED))
    queued = int(await redis.zcard(QUEUE_NAME))
    keys = [key.decode() async for key in redis.scan_iter(match=RUNNING, count=1000)]
    running = sum(1 for key in keys if not key.startswith(CRON))
    return unannounced, queued, running


async def settle(database: asyncpg.Connection, redis: Redis, patience: float) -> Settled:
    started = time.perf_counter()
    calm = 0
    while True:
        unannounced, queued, running = await busy(database, redis)
        waited = time.perf_counter() - started
        calm = calm + 1 if unannounced + queued + running == 0 else 0
        if calm == CALM_POLLS:
            return Settled(max(0.0, waited - (CALM_POLLS - 1) * POLL))
        if waited > patience and not unannounced:
            await redis.delete(QUEUE_NAME)
            return Settled(waited, queued, running)
        if waited > patience + STUCK_SECONDS:
            raise RuntimeError(f"Aurum did not announce {unannounced} events in {waited:.0f} s")
        await asyncio.sleep(POLL)
