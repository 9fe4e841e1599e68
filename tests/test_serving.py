"""uvicorn as we run it: the lighter inbox and write gate of its WebSocket protocol, one timer for all token
expiries, the credentials rechecked in batches, and the dispatch of GraphQL WebSockets around Starlette."""

from __future__ import annotations

import asyncio
import gc
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from aurum.realtime.hub import Connection, Expiries, recheck_batches
from aurum.serving import Gate, HttpProtocol, Inbox, WebSocketProtocol, server_config
from aurum.settings import Settings
from tests.support import wait_for
from tests.ws import Closed, socket


async def test_the_inbox_hands_out_messages_in_order_and_wakes_a_waiting_reader() -> None:
    inbox = Inbox()
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader waits now
    assert not reader.done()
    inbox.put_nowait("first")
    inbox.put_nowait("second")
    assert await asyncio.wait_for(reader, 1) == "first"
    assert not inbox.empty()
    assert await inbox.get() == "second"
    assert inbox.empty()


async def test_a_cancelled_read_loses_no_message() -> None:
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put_nowait("kept")
    assert await asyncio.wait_for(inbox.get(), 1) == "kept"


async def test_the_gate_behaves_as_an_event() -> None:
    gate = Gate()
    assert not gate.is_set()
    waiters = [asyncio.create_task(gate.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    gate.set()
    gate.clear()  # as with asyncio.Event, those already woken stay woken
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    late = asyncio.create_task(gate.wait())
    await asyncio.sleep(0)
    assert not late.done()
    gate.set()
    assert await asyncio.wait_for(late, 1) is True
    assert await gate.wait() is True  # set: no waiting


def test_uvicorn_runs_our_protocols(settings: Settings) -> None:
    config = server_config(object(), settings, "127.0.0.1", 0)
    config.load()
    assert config.http_protocol_class is HttpProtocol
    assert config.ws_protocol_class is WebSocketProtocol
    assert config.ws_per_message_deflate is False


async def _closer(code: int, reason: str) -> None:
    """A stand-in for a socket's close (the expiries only decide when)."""


def connection() -> Connection:
    return Connection(uuid.uuid4(), None, _closer)


async def test_expiries_fire_in_time_order_with_one_timer_and_skip_closed_sockets() -> None:
    expired: list[Connection] = []
    expiries = Expiries(expired.append)
    now = datetime.now(UTC)
    later, sooner, gone = connection(), connection(), connection()
    expiries.add(later, now + timedelta(seconds=0.3))
    expiries.add(sooner, now + timedelta(seconds=0.1))  # sooner than the armed timer: re-armed
    expiries.add(gone, now + timedelta(seconds=0.2))
    del gone
    gc.collect()  # a socket closed before its token expired is not kept for it
    await wait_for(lambda: len(expired) == 2, "both live connections to expire")
    assert expired == [sooner, later]
    assert expiries.timer is None
    assert expiries.due == []


async def test_expiries_stop_cancels_the_timer() -> None:
    expired: list[Connection] = []
    expiries = Expiries(expired.append)
    kept = connection()
    expiries.add(kept, datetime.now(UTC) + timedelta(seconds=0.05))
    timer = expiries.timer
    assert timer is not None
    expiries.stop()
    assert timer.cancelled()
    assert expiries.timer is None


@pytest.mark.parametrize(
    ("users", "size", "sizes"),
    [
        (0, 100, []),
        (1, 100, [1]),
        (100, 100, [100]),
        (101, 100, [51, 50]),
        (5000, 100, [100] * 50),
        (250, 100, [84, 83, 83]),
    ],
)
def test_rechecks_go_in_even_batches_that_cover_every_user_once(
    users: int, size: int, sizes: list[int]
) -> None:
    everyone = [uuid.uuid4() for _ in range(users)]
    batches = recheck_batches(everyone, size)
    assert [len(b) for b in batches] == sizes
    assert sorted(u for b in batches for u in b) == sorted(everyone)


async def test_graphql_sockets_are_served_and_other_paths_refuse_them(server_url: str) -> None:
    websocket_url = server_url.replace("http://", "ws://", 1)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(websocket_url + "/health"):
            pass
    assert refused.value.response.status_code == 403
    async with socket(server_url) as ws:
        with pytest.raises(Closed) as rejected:
            await ws.init(None)
    assert rejected.value.code == 4403  # the GraphQL view answered: no credentials, no entry
