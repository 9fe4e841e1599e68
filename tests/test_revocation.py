"""What happens to Redis: an embedded Redis of the test's own is killed (SIGKILL) and started again on its
directory; the sign-in counts survive the restart (the append-only file)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from aurum.app import build_app
from aurum.embedded import start_redis, stop_redis
from aurum.resources import Resources, open_resources
from aurum.settings import Settings
from tests.conftest import register
from tests.support import GraphQLClient, serving, wait_for
from tests.test_sessions import (
    PASSWORD,
    assert_rate_limited,
    errors,
    sign_in,
)

FILES = ("appendonly.aof", "aurum.rdb")


@dataclass
class OwnRedis:
    """An embedded Redis of this test alone, in its own directory."""

    directory: Path
    server: Any
    url: str

    @property
    def pid(self) -> int:
        return int(self.server.pid)

    async def kill(self) -> None:
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        await wait_for(lambda: not running(pid), "the killed redis-server to be gone")

    async def start_again(self) -> None:
        self.server, url = await asyncio.to_thread(start_redis, self.directory)
        assert url == self.url, "a Redis started again must be where the app looks for it"

    def keep_files(self, where: Path) -> None:
        where.mkdir()
        for name in FILES:
            if (self.directory / name).exists():
                shutil.copy2(self.directory / name, where / name)

    def put_back_files(self, kept: Path | None) -> None:
        for name in FILES:
            (self.directory / name).unlink(missing_ok=True)
            if kept is not None and (kept / name).exists():
                shutil.copy2(kept / name, self.directory / name)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    server, url = await asyncio.to_thread(start_redis, tmp_path / "redis")
    own = OwnRedis(tmp_path / "redis", server, url)
    try:
        yield own
    finally:
        await asyncio.to_thread(stop_redis, own.server, force=True)


@pytest.fixture
async def http(
    settings: Settings, resources: Resources, own_redis: OwnRedis
) -> AsyncIterator[httpx.AsyncClient]:
    """An app on the shared PostgreSQL (migrated by ``resources``) and the test's own Redis."""
    own = settings.model_copy(update={"redis_url": own_redis.url})
    async with (
        open_resources(own) as opened,
        serving(build_app(own, opened, run_worker=False)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def test_sign_in_counts_survive_redis_being_killed_and_started_again(
    http: httpx.AsyncClient, own_redis: OwnRedis
) -> None:
    victim = await register(http)
    guesser = GraphQLClient(http)
    for attempt in range(10):
        payload = await sign_in(guesser, victim.email, f"wrong password {attempt}")
        assert errors(payload) == [("BAD_USER_INPUT", ["input", "password"])], (attempt, payload)

    await own_redis.kill()
    await own_redis.start_again()
    assert_rate_limited(await sign_in(guesser, victim.email, PASSWORD))
