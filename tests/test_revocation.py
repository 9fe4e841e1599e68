"""Signing out holds whatever happens to Redis: an embedded Redis of the test's own is killed (SIGKILL) and
started again on its directory, with its files kept, lost, or put back as they were before the last writes,
and the access token of a session that ended stays refused; while Redis is down, PostgreSQL answers. The
sign-in counts survive the restart too (the append-only file)."""

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
from tests.hierarchy import act
from tests.support import GraphQLClient, serving, wait_for
from tests.test_sessions import (
    PASSWORD,
    assert_access_refused,
    assert_access_works,
    errors,
    revoke,
    second_session,
    sign_in,
)
from tests.test_sign_in_throttle import assert_rate_limited

SESSIONS = "{ sessions { id current } }"
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
        serving(build_app(own, opened, run_worker=False), own) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def devices(http: httpx.AsyncClient) -> tuple[GraphQLClient, GraphQLClient, GraphQLClient]:
    """Three signed-in devices of one account: a laptop, a phone, a tablet."""
    laptop = await register(http)
    return laptop, await second_session(http, laptop.email), await second_session(http, laptop.email)


async def current_session(client: GraphQLClient) -> str:
    listed = (await client.ok(SESSIONS))["sessions"]
    return str(next(s["id"] for s in listed if s["current"]))


@pytest.mark.parametrize("lost", ["nothing", "everything", "the last writes"])
async def test_a_sign_out_survives_redis_being_killed_and_started_again(
    http: httpx.AsyncClient, own_redis: OwnRedis, tmp_path: Path, lost: str
) -> None:
    laptop, phone, tablet = await devices(http)
    await assert_access_works(http, laptop.token or "", laptop.email)  # the cache is built for this Redis
    kept = tmp_path / "kept"
    own_redis.keep_files(kept)  # what the files held before the sign-outs

    assert await revoke(GraphQLClient(http), phone.refresh_token) == {"ok": True, "userErrors": []}
    ended = await act(laptop, "sessionRevoke", {"id": await current_session(tablet)}, "revokedId")
    assert ended["userErrors"] == [], ended
    for signed_out in (phone, tablet):
        await assert_access_refused(http, signed_out.token or "")

    await own_redis.kill()
    if lost == "everything":
        own_redis.put_back_files(None)
    elif lost == "the last writes":
        own_redis.put_back_files(kept)
    await own_redis.start_again()

    for signed_out in (phone, tablet):
        await assert_access_refused(http, signed_out.token or "")
    await assert_access_works(http, laptop.token or "", laptop.email)


async def test_while_redis_is_down_postgresql_answers(http: httpx.AsyncClient, own_redis: OwnRedis) -> None:
    laptop, phone, tablet = await devices(http)
    assert await revoke(GraphQLClient(http), phone.refresh_token) == {"ok": True, "userErrors": []}

    await own_redis.kill()
    await assert_access_refused(http, phone.token or "")
    await assert_access_works(http, laptop.token or "", laptop.email)
    # A sign-out during the outage is recorded in PostgreSQL only, and holds there …
    ended = await act(laptop, "sessionRevoke", {"id": await current_session(tablet)}, "revokedId")
    assert ended["userErrors"] == [], ended
    await assert_access_refused(http, tablet.token or "")
    await assert_access_works(http, laptop.token or "", laptop.email)

    # … and once Redis is back (its files know nothing of it), in the cache built again from it.
    await own_redis.start_again()
    for signed_out in (phone, tablet):
        await assert_access_refused(http, signed_out.token or "")
    await assert_access_works(http, laptop.token or "", laptop.email)


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
