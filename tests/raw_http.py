"""HTTP/1.1 over a plain socket, for requests no client library would send (a header twice, half a body)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.json()["errors"]]


async def connect(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = httpx.URL(base_url)
    assert url.host
    assert url.port
    return await asyncio.open_connection(url.host, url.port)


def head(path: str, headers: list[tuple[str, str]], length: int | None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def post(base_url: str, headers: list[tuple[str, str]], body: bytes, path: str = "/graphql") -> Answer:
    """POST exactly these headers (repeats kept, nothing added but Host, Content-Length and Connection).
    The body is sent while the answer is awaited: a server may answer from the headers alone and close."""
    reader, writer = await connect(base_url)

    async def send_body() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(body)
            await writer.drain()

    writer.write(head(path, headers, len(body)))
    sending = asyncio.create_task(send_body())
    try:
        raw = await asyncio.wait_for(read_all(reader), timeout=30)
    finally:
        sending.cancel()
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    answer_headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    if answer_headers.get("transfer-encoding") == "chunked":
        payload = unchunked(payload)
    return Answer(int(status_line.split()[1]), answer_headers, payload)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes; a reset after its answer (the body it did not read) ends it too."""
    received = b""
    try:
        while chunk := await reader.read(65536):
            received += chunk
    except ConnectionResetError:
        if not received:
            raise
    return received


def unchunked(payload: bytes) -> bytes:
    body = b""
    while payload:
        size_line, _, payload = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, payload = body + payload[:size], payload[size + 2 :]
    return body
