"""A small graphql-transport-ws client over a real WebSocket (the `websockets` library), for the tests."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"

RECORD_CHANGED = """subscription($after: String, $types: [EntityType!]) {
  recordChanged(after: $after, entityTypes: $types) {
    cursor operation entityType entityId changedFields occurredAt
    node { __typename id ... on Pillar { name } ... on Area { name } ... on Project { name }
           ... on Task { name } }
  }
}"""


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


class Closed(Exception):
    """The server closed the socket; ``code`` and ``reason`` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class GraphQLSocket:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message; ``Closed`` when the server closed the socket instead."""
        try:
            raw = await asyncio.wait_for(self.socket.recv(), timeout)
        except ConnectionClosed as closed:
            rcvd = closed.rcvd
            raise Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None
        message: dict[str, Any] = json.loads(raw)
        return message

    async def init(self, authorization: str | None) -> dict[str, Any]:
        payload = {"authorization": authorization} if authorization is not None else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return operation_id

    async def next_data(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The data of the next `next` message of the operation (pongs and others skipped)."""
        while True:
            message = await self.receive(timeout)
            if message.get("id") != operation_id:
                continue
            if message["type"] == "next":
                assert "errors" not in message["payload"], message
                data: dict[str, Any] = message["payload"]["data"]
                return data
            raise AssertionError(f"expected next, got {message}")

    async def changes(self, operation_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return [(await self.next_data(operation_id, timeout))["recordChanged"] for _ in range(count)]

    async def nothing_more(self, operation_id: str, within: float = 0.3) -> None:
        """Assert no message of the operation arrives in the next ``within`` seconds (after a control)."""
        try:
            message = await self.receive(within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message}")

    async def closed(self, timeout: float = 10.0) -> Closed:
        """Wait for the server to close the socket, skipping whatever arrives before."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.receive(timeout)
        except Closed as closed:
            return closed


@asynccontextmanager
async def socket(http_url: str, subprotocol: str = PROTOCOL) -> AsyncIterator[GraphQLSocket]:
    async with connect(ws_url(http_url), subprotocols=[subprotocol], compression=None) as raw:  # type: ignore[list-item]
        yield GraphQLSocket(raw)


@asynccontextmanager
async def signed_in(http_url: str, token: str) -> AsyncIterator[GraphQLSocket]:
    async with socket(http_url) as ws:
        ack = await ws.init(f"Bearer {token}")
        assert ack["type"] == "connection_ack", ack
        yield ws
