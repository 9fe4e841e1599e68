"""The bench's HTTP client: keep-alive HTTP/1.1 connections that send prebuilt requests, parsed by
httptools (uvicorn's own parser), so that the client costs a few microseconds a request and the servers, not
the client, are what the figures measure (httpx costs about a millisecond of CPU a request, which would cap
every arm near the same rate on two cores).

``sequential`` times one request at a time; ``closed_loop`` keeps ``concurrency`` requests in flight (each
connection sends its next request as soon as its answer is in) until a deadline or a count, and measures
requests per second over the time until the last answer. Every answer is checked by the caller's
``accept``: a request answered with an error counts as a failure, never as a fast answer.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httptools
import orjson

TIMEOUT = 120.0  # seconds for one answer: a stalled server fails the bench instead of hanging it


def request_bytes(port: int, path: str, body: object, headers: dict[str, str] | None = None) -> bytes:
    """A POST of ``body`` as JSON, keep-alive, ready to write as it is."""
    payload = orjson.dumps(body)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.WriteTransport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"the server closed the connection ({exc})"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body, self.chunks = b"".join(self.chunks), []
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), body))


class Connection:
    """One keep-alive connection to a server on loopback."""

    def __init__(self, protocol: _Protocol) -> None:
        self.protocol = protocol

    @classmethod
    async def open(cls, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, "127.0.0.1", port)
        return cls(protocol)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        protocol = self.protocol
        if protocol.closed or protocol.transport is None:
            raise ConnectionError("connection closed")
        protocol.waiter = asyncio.get_running_loop().create_future()
        protocol.transport.write(request)
        return await asyncio.wait_for(protocol.waiter, TIMEOUT)

    def close(self) -> None:
        if self.protocol.transport is not None:
            self.protocol.transport.close()


Accept = Callable[[int, bytes], bool]


class Refused(RuntimeError):
    """A server answered a request with something ``accept`` did not take."""


@dataclass
class Sample:
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # from the first request sent to the last answer in

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@contextmanager
def quiet_collector() -> Iterator[None]:
    """No cyclic collection in the client while it measures (its garbage is collected in between)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _check(accept: Accept, status: int, body: bytes) -> None:
    if not accept(status, body):
        raise Refused(f"answered {status}: {body[:600]!r}")


async def sequential(port: int, request: bytes, count: int, accept: Accept) -> Sample:
    """``count`` requests one after another on one connection, each timed."""
    connection = await Connection.open(port)
    sample = Sample()
    try:
        with quiet_collector():
            began = time.perf_counter()
            for _ in range(count):
                start = time.perf_counter()
                status, body = await connection.send(request)
                sample.latencies_ms.append((time.perf_counter() - start) * 1000)
                _check(accept, status, body)
            sample.seconds = time.perf_counter() - began
    finally:
        connection.close()
    return sample


async def closed_loop(
    port: int,
    request: bytes,
    accept: Accept,
    concurrency: int,
    *,
    seconds: float | None = None,
    count: int | None = None,
) -> Sample:
    """``concurrency`` connections, each sending its next request when its answer is in, until ``seconds``
    have passed (a request under way then still finishes and counts) or ``count`` requests were sent."""
    assert (seconds is None) != (count is None)
    connections = [await Connection.open(port) for _ in range(concurrency)]
    sample = Sample()
    budget = [count if count is not None else -1]

    def more(deadline: float) -> bool:
        if budget[0] >= 0:
            budget[0] -= 1
            return budget[0] >= 0
        return time.perf_counter() < deadline

    async def worker(connection: Connection, deadline: float) -> None:
        while more(deadline):
            start = time.perf_counter()
            status, body = await connection.send(request)
            sample.latencies_ms.append((time.perf_counter() - start) * 1000)
            _check(accept, status, body)

    try:
        with quiet_collector():
            began = time.perf_counter()
            deadline = began + (seconds or 0.0)
            await asyncio.gather(*(worker(c, deadline) for c in connections))
            sample.seconds = time.perf_counter() - began
    finally:
        for connection in connections:
            connection.close()
    return sample
