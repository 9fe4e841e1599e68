"""Connections that never finish a request are closed in time (silent, half-sent headers, a stalled or
trickled body, idle between requests) while others are served; a process holds no more connections than
its cap, WebSockets included, and refuses the rest with 503 until one closes; `aurum serve` raises its
open-file limit at start-up."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from aurum.app import build_app
from aurum.connections import LINGER_SECONDS, connection_cap
from aurum.resources import Resources
from aurum.settings import Settings
from tests.support import GraphQLClient, free_port, serving, wait_for
from tests.ws import signed_in, socket

HEADER_TIMEOUT = BODY_TIMEOUT = KEEPALIVE_TIMEOUT = 1.0
MIN_RATE = 2048  # bytes per second
LATE = 1.5  # how late a timer may fire on a loaded machine
TYPENAME = b'{"query": "{ __typename }"}'


def head(content_length: int, path: str = "/graphql") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


class Raw:
    """A connection driven by hand, read until the server closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.since = time.monotonic()  # when the server's clock for this connection started
        self.received = b""
        self.closed_at: float | None = None
        self.task = asyncio.create_task(self.read())

    @classmethod
    async def open(cls, url: str, into: list[Raw], first: bytes = b"") -> Raw:
        """A connection to ``url`` that has sent ``first``; kept in ``into`` to be closed after the test."""
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        raw = cls(reader, writer)
        into.append(raw)
        raw.send(first)
        return raw

    def send(self, data: bytes) -> None:
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def read(self) -> None:
        try:
            while chunk := await self.reader.read(65536):
                self.received += chunk
        except ConnectionError:
            pass
        self.closed_at = time.monotonic()

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def lived(self) -> float:
        assert self.closed_at is not None
        return self.closed_at - self.since

    def responses(self) -> list[tuple[int, dict[str, str], bytes]]:
        """The complete responses received, in order: status, headers, body."""
        found, rest = [], self.received
        while b"\r\n\r\n" in rest:
            top, rest = rest.split(b"\r\n\r\n", 1)
            status_line, *lines = top.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            length = int(headers.get("content-length", "0"))
            if len(rest) < length:
                break
            found.append((int(status_line.split()[1]), headers, rest[:length]))
            rest = rest[length:]
        return found

    def close(self) -> None:
        self.writer.close()
        self.task.cancel()


@pytest.fixture
async def opened() -> AsyncIterator[list[Raw]]:
    """The hand-driven connections of a test, closed after it (before its server stops: a server waits for
    its connections to close)."""
    connections: list[Raw] = []
    yield connections
    for raw in connections:
        raw.close()


def timed_out(raw: Raw) -> bool:
    """Whether the connection was answered 408 REQUEST_TIMEOUT (as its last response)."""
    status, headers, body = raw.responses()[-1]
    code = json.loads(body)["errors"][0]["extensions"]["code"]
    return status == 408 and headers["connection"] == "close" and code == "REQUEST_TIMEOUT"


@pytest.fixture(scope="module")
async def strict_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """A server with timeouts of a second."""
    configured = settings.model_copy(
        update={
            "http_header_timeout": HEADER_TIMEOUT,
            "http_body_timeout": BODY_TIMEOUT,
            "http_body_min_rate": MIN_RATE,
            "http_keepalive_timeout": KEEPALIVE_TIMEOUT,
        }
    )
    async with serving(build_app(configured, resources), configured) as url:
        yield url


async def trickle(raw: Raw, every: float) -> None:
    """A byte of body at a time, never pausing as long as the body timeout: only the rate gives it away."""
    while not raw.closed:
        raw.send(b" ")
        await asyncio.sleep(every)  # the pace of a slow client, not a wait for something


async def answered_and_idle(url: str, into: list[Raw]) -> Raw:
    """A connection that had one request answered and now says nothing."""
    raw = await Raw.open(url, into, b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    await wait_for(lambda: len(raw.responses()) == 1, "the first answer")
    raw.since = time.monotonic()
    return raw


async def slow_upload(url: str) -> tuple[httpx.Response, float]:
    """An honest body sent slowly (twice the minimum rate) for longer than the body timeout; its answer and
    how long it took."""
    pieces = 8
    padded = TYPENAME[:-1] + b" " * (pieces * 1024 - len(TYPENAME)) + b"}"

    async def slowly() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), 1024):
            yield padded[start : start + 1024]
            await asyncio.sleep(BODY_TIMEOUT / 4)  # the pace of a slow client: 4 KiB/s

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        started = time.monotonic()
        response = await http.post(
            "/graphql",
            content=slowly(),
            headers={"content-type": "application/json", "content-length": str(len(padded))},
        )
        return response, time.monotonic() - started


async def served_meanwhile(url: str, until: asyncio.Event) -> int:
    """Requests of a well-behaved client while the others hang; each is answered."""
    served = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        client = GraphQLClient(http)
        while not until.is_set():
            assert await client.ok("{ __typename }") == {"__typename": "Query"}
            served += 1
    return served


async def test_connections_that_never_finish_a_request_are_closed_within_their_timeouts(
    strict_url: str, opened: list[Raw], alice: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    done = asyncio.Event()
    client = asyncio.create_task(served_meanwhile(strict_url, done))
    upload = asyncio.create_task(slow_upload(strict_url))
    async with signed_in(strict_url, alice.token or "") as ws:
        operation = await ws.subscribe("subscription { recordChanged { entityType operation } }")
        silent = await Raw.open(strict_url, opened)
        half_head = await Raw.open(strict_url, opened, b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Ty")
        stalled = await Raw.open(strict_url, opened, head(len(TYPENAME)) + TYPENAME[:10])
        trickled = await Raw.open(strict_url, opened, head(10_000))
        pacer = asyncio.create_task(trickle(trickled, every=BODY_TIMEOUT / 5))
        idle = await answered_and_idle(strict_url, opened)
        reused = await answered_and_idle(strict_url, opened)
        reused.send(b"POST /graphql HTTP/1.1\r\nHost: te")
        held = {
            "silent": silent,
            "half_head": half_head,
            "stalled": stalled,
            "trickled": trickled,
            "idle": idle,
            "reused": reused,
        }
        try:
            await wait_for(lambda: all(raw.closed for raw in held.values()), "every bad connection to close")
            lived = {name: round(raw.lived, 2) for name, raw in held.items()}
            for name, raw in held.items():
                assert HEADER_TIMEOUT - 0.2 <= raw.lived <= HEADER_TIMEOUT + LATE, (name, lived)
            assert silent.received == b""
            assert [status for status, _, _ in idle.responses()] == [200]
            assert all(timed_out(raw) for raw in (half_head, stalled, trickled, reused)), held
            # The WebSocket idled through all of that (its handshake had the header deadline, no more).
            await alice.mutate("pillarCreate", {"name": "Still listening"}, "pillar { id }")
            assert (await ws.next_data(operation))["recordChanged"]["entityType"] == "PILLAR"
        finally:
            done.set()
            pacer.cancel()
    assert await client > 0
    response, took = await upload
    assert response.json() == {"data": {"__typename": "Query"}}
    assert took > BODY_TIMEOUT
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


# --- the connection cap ---------------------------------------------------------------------------------

CAP = 16


@pytest.fixture
async def capped_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    """A server holding at most CAP connections, with timeouts long enough for the test to hold them."""
    configured = settings.model_copy(update={"max_connections": CAP, "http_header_timeout": 60.0})
    async with serving(build_app(configured, resources), configured) as url:
        yield url


async def refused(url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10) as fresh:
        return await fresh.post("/graphql", json={"query": "{ __typename }"})


def over_capacity(response: httpx.Response) -> bool:
    error = response.json()["errors"][0]
    return (
        response.status_code == 503
        and response.headers["retry-after"].isdigit()
        and error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    )


async def test_past_the_cap_http_and_websockets_are_refused_with_503_until_a_connection_closes(
    capped_url: str, opened: list[Raw], alice: GraphQLClient
) -> None:
    async with signed_in(capped_url, alice.token or "") as first, signed_in(capped_url, alice.token or ""):
        silent = [await Raw.open(capped_url, opened) for _ in range(CAP - 2)]  # CAP connections held now
        assert over_capacity(await refused(capped_url))
        with pytest.raises(InvalidStatus) as rejected:
            async with socket(capped_url):
                pass
        assert rejected.value.response.status_code == 503
        # A flood past the cap is let go at once: answered, or (past the refusals answered at a time)
        # closed; none is kept.
        flood = [await Raw.open(capped_url, opened) for _ in range(3 * CAP)]
        await wait_for(lambda: all(raw.closed for raw in flood), "the flood to be let go")
        assert all(raw.lived < LINGER_SECONDS + LATE for raw in flood)
        answered = [raw for raw in flood if raw.received]
        assert answered
        assert all(raw.responses()[0][0] == 503 for raw in answered)
        # Those held are still served.
        await first.send({"type": "ping"})
        assert (await first.receive())["type"] == "pong"
        # One goes, and a newcomer is served again.
        silent.pop().close()

        async def served() -> bool:
            return (await refused(capped_url)).status_code == 200

        await wait_for(served, "a request to be served again")


def test_the_cap_leaves_files_for_the_pools_and_the_rest() -> None:
    assert connection_cap(10_000, 1_048_576) == 10_000
    assert connection_cap(10_000, 20_000) == 10_000
    assert connection_cap(10_000, 4096) == 4096 - 1024
    assert connection_cap(10_000, 1024) == 1024 - 256
    assert connection_cap(10_000, resource.RLIM_INFINITY) == 10_000


# --- the open-file limit ----------------------------------------------------------------------------------


def open_file_limits(pid: int) -> tuple[int, int]:
    """The soft and hard open-file limits of a process, as the kernel reports them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


def lowered_file_limit() -> None:
    """In the child before it starts: a soft limit below the hard one, as a shell's default would be."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard // 2, hard))


async def test_aurum_serve_raises_the_soft_open_file_limit_to_the_hard_one(
    settings: Settings, tmp_path: Path
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    port = free_port()
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_")}
    env |= {
        "AURUM_DATABASE_URL": settings.database_url,
        "AURUM_REDIS_URL": settings.redis_url,
        "AURUM_SECRET_KEY": settings.secret_key,
        "AURUM_DATA_DIR": str(tmp_path / "data"),
    }
    aurum = Path(sys.executable).with_name("aurum")
    with tempfile.TemporaryFile("w+", dir=tmp_path) as log:

        def output() -> str:
            log.seek(0)
            return log.read()

        process = await asyncio.create_subprocess_exec(
            *(str(aurum), "serve", "--no-worker", "--port", str(port)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lowered_file_limit,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

                async def healthy() -> bool:
                    assert process.returncode is None, output()
                    try:
                        return (await http.get("/health")).status_code == 200
                    except httpx.TransportError:
                        return False

                await wait_for(healthy, "aurum serve to answer /health", timeout=60)
            assert open_file_limits(process.pid) == (hard, hard)
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
        logged = output()
    assert "raised the open-file limit" in logged, logged
    assert f"limit={hard}" in logged, logged
    assert "Traceback" not in logged, logged
