"""graphql-transport-ws held to its protocol: malformed messages close the socket with 4400, operations that
cannot run get an ``error`` with a code, and nothing a client sends leaves it without an answer."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support import GraphQLClient
from tests.ws import RECORD_CHANGED, signed_in

CLOSES = {
    "an array": [1, 2],
    "a number": 7,
    "an id that is a number": {"id": 1, "type": "subscribe", "payload": {"query": RECORD_CHANGED}},
    "an empty id": {"id": "", "type": "subscribe", "payload": {"query": RECORD_CHANGED}},
    "variables that are a list": {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": RECORD_CHANGED, "variables": [1]},
    },
    "no query": {"id": "1", "type": "subscribe", "payload": {"query": None}},
    "a payload that is a string": {"id": "1", "type": "subscribe", "payload": "subscription { x }"},
    "a syntax error": {"id": "1", "type": "subscribe", "payload": {"query": "subscription {"}},
    "an unknown operation name": {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": RECORD_CHANGED, "operationName": "Z"},
    },
    "a complete without an id": {"type": "complete"},
}


@pytest.mark.parametrize("message", CLOSES.values(), ids=CLOSES.keys())
async def test_a_malformed_message_closes_the_socket_with_4400(
    server_url: str, alice: GraphQLClient, message: Any
) -> None:
    async with signed_in(server_url, alice.token or "") as ws:
        await ws.socket.send(json.dumps(message))
        closed = await ws.closed()
        assert closed.code == 4400, closed.reason
        assert closed.reason


async def test_an_operation_that_cannot_run_gets_an_error_with_a_code(
    server_url: str, alice: GraphQLClient
) -> None:
    two = "subscription A { notificationCreated { id } } subscription B { notificationCreated { id } }"
    cases = {
        two: "GRAPHQL_VALIDATION_FAILED",
        "subscription { nope }": "GRAPHQL_VALIDATION_FAILED",
    }
    async with signed_in(server_url, alice.token or "") as ws:
        for query, code in cases.items():
            op = await ws.subscribe(query)
            answer = await ws.receive()
            assert (answer["id"], answer["type"]) == (op, "error"), answer
            assert [e["extensions"]["code"] for e in answer["payload"]] == [code], answer
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_a_cursor_ahead_of_the_change_log_is_refused_not_silently_muted(
    server_url: str, alice: GraphQLClient
) -> None:
    ahead = base64.urlsafe_b64encode(b"Event:99999999999").decode()
    insights = "subscription($after: String) { insightCreated(after: $after) { id } }"
    async with signed_in(server_url, alice.token or "") as ws:
        for query in (RECORD_CHANGED, insights):
            op = await ws.subscribe(query, {"after": ahead})
            failed = await ws.receive()
            assert (failed["id"], failed["type"]) == (op, "next"), failed
            assert [e["extensions"]["code"] for e in failed["payload"]["errors"]] == ["BAD_USER_INPUT"]
            assert "ahead of every change" in failed["payload"]["errors"][0]["message"]
            assert await ws.receive() == {"id": op, "type": "complete"}
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
