"""uvicorn as Aurum runs it (``aurum serve`` and the tests alike): its protocols, lighter per idle WebSocket.

Measured with ``python -m bench realtime``, an acknowledged idle socket cost ~28 KiB, ~10 KiB of it in
uvicorn's own state that an idle socket never uses again: the handshake's request and response with their
headers (kept for the connection's life, the request twice), an ``asyncio.Queue`` (four deques of 760 B
each, allocated empty) and an ``asyncio.Event`` for its inbox and write gate, and the HTTP protocol the
socket was upgraded from, left in a reference cycle with its parser until the collector finds it.

The subclasses replace those attributes of uvicorn's, so they are written against one uvicorn minor
(pinned in pyproject.toml); every WebSocket test runs on them. The HTTP protocol also puts a deadline on
reading each request and caps the connections a process holds (``aurum.connections``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from aurum.connections import DeadlineProtocol, Limits, Refusals, connection_cap
from aurum.runtime import file_limit
from aurum.settings import Settings

log = structlog.get_logger("aurum.serving")


class _Waiters:
    """Futures of the tasks waiting for something, as a list made only when one waits."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def _sleep(self) -> None:
        """Until the next ``_wake`` (or until cancelled)."""
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class Inbox(_Waiters):
    """A FIFO with what uvicorn's WebSocket protocol asks of its ``asyncio.Queue`` (``put_nowait``, ``get``,
    ``empty``), nothing allocated while empty. uvicorn pauses reading while a message waits, so it holds one
    or two at a time."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        self._wake()

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            await self._sleep()
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


class Gate(_Waiters):
    """``asyncio.Event`` (``set``, ``clear``, ``is_set``, ``wait``) with no waiter list until one waits."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        super().__init__()
        self._open = False

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        self._wake()

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> bool:
        if not self._open:  # as asyncio.Event: once woken by a ``set``, done even if cleared since
            await self._sleep()
        return True


def text_frame(text: bytes) -> bytes:
    """A server's unfragmented text frame of this UTF-8 text, as websockets sends it with no extension
    (per-message compression is off); unmasked, so the same bytes serve every socket."""
    return Frame(Opcode.TEXT, text).serialize(mask=False, extensions=[])


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Gate()  # type: ignore[assignment]
        self.writable.set()

    def write_now(self, frame: bytes) -> bool:
        """Write a frame serialised already (``text_frame``), at once, while the socket is open and its
        buffer has room; ``False``: nothing written, send the message the usual way (which waits for room
        or finds the socket closed). A change fans out to many sockets as the same bytes, with no task or
        ASGI message per socket."""
        if (
            self.disconnected
            or self.close_sent
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.conn.extensions  # a frame of theirs is not the plain one shared
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The handshake is over: its request and response are read no more. websockets' parser keeps
            # the request for the connection's life as well, so its headers are emptied in place.
            self.request.headers.clear()
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]


class HttpProtocol(DeadlineProtocol):
    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The transport now belongs to the WebSocket protocol. This one and its parser hold each other (the
        # parser calls back into it): break the cycle so it goes now rather than at the next full collection.
        self.parser = None  # type: ignore[assignment]
        self.flow = None  # type: ignore[assignment]
        self.pipeline = None  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, with what our HTTP protocol reads from it: the limits, and the refusals
    its connections share."""

    def __init__(self, app: Any, limits: Limits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits
        self.refusals = Refusals()


def connection_limits(settings: Settings) -> Limits:
    """The settings' limits, the connection cap kept under the process's open-file limit."""
    files = file_limit()
    cap = connection_cap(settings.max_connections, files)
    if cap < settings.max_connections:
        log.warning(
            "connection cap lowered to fit the open-file limit",
            setting=settings.max_connections,
            cap=cap,
            file_limit=files,
        )
    return Limits(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        body_min_rate=settings.http_body_min_rate,
        max_connections=cap,
    )


def server_config(app: Any, settings: Settings, host: str, port: int, **options: Any) -> ServerConfig:
    """uvicorn's configuration for our app: our protocols and limits, no log configuration of its own, no
    per-message compression (it costs hundreds of KiB per socket), and forwarded headers believed only from
    the trusted proxies (uvicorn's own default trusts loopback, or its FORWARDED_ALLOW_IPS variable)."""
    return ServerConfig(
        app,
        connection_limits(settings),
        host=host,
        port=port,
        http=HttpProtocol,
        ws=WebSocketProtocol,
        ws_per_message_deflate=False,
        log_config=None,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        # Read as a delay for call_later, so it need not be whole seconds as uvicorn's annotation says.
        timeout_keep_alive=settings.http_keepalive_timeout,
        **options,
    )
