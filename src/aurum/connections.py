"""HTTP connections as we serve them: read deadlines, and a cap on the connections a process holds.

uvicorn 0.54 bounds none of this. A socket that connects and says nothing, one that sends half its headers,
and a request whose body stalls or trickles are kept for ever (its keep-alive timer is armed only after a
response, and any byte received cancels it); a partial second request on a kept-alive connection is kept for
ever too. Its ``limit_concurrency`` answers a plain-text 503 (no ``Retry-After``) only once a request's
headers have arrived, counts idle keep-alive connections but never refuses a WebSocket handshake (the
upgrade returns before the check), and accepts every silent socket: the open-file limit ends it all.

Here every phase of reading a request has a deadline, and a connection past the cap is answered at once
and let go. The WebSocket handshake is read by this protocol, so it has the header deadline; once upgraded
the socket is the WebSocket protocol's, and nothing of this one (no timer) stays with it.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import structlog
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

log = structlog.get_logger("aurum.serving")

RETRY_AFTER_SECONDS = 5
# How long a refused connection may take to read its 503 and hang up; we keep reading (and dropping) what
# it sends meanwhile, so closing does not reset the connection before the answer is read.
LINGER_SECONDS = 2.0

Phase = Literal["head", "body", "app", "upgraded", "refused"]


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    body_timeout: float
    body_min_rate: float  # bytes per second; 0: none
    max_connections: int

    @property
    def max_lingering(self) -> int:
        """Refused connections being answered at once; past that a refusal is a plain close."""
        return max(16, self.max_connections // 8)


class Refusals:
    """What one server's connections share about refusing: how many are lingering, and since when."""

    __slots__ = ("lingering", "refused")

    def __init__(self) -> None:
        self.lingering = 0
        self.refused = 0  # since the cap was last reached


def error_response(status: int, code: str, message: str, *headers: bytes) -> bytes:
    """A complete response that closes the connection, in the shape GraphQL clients read errors."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    head = [
        STATUS_LINE[status],
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n",
        *headers,
    ]
    return b"".join(head) + b"\r\n" + body


OVER_CAPACITY = error_response(
    503,
    "SERVICE_UNAVAILABLE",
    "The server is at its connection limit: try again shortly",
    b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS,
)
TIMED_OUT = error_response(408, "REQUEST_TIMEOUT", "The request did not arrive in time")


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each phase of reading a request, and the cap."""

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: Limits = config.limits
        self.refusals: Refusals = config.refusals
        self.phase: Phase = "head"
        self.begun = False  # a byte of the request head awaited has arrived
        self.lingering = False  # refused, answered, and waiting for the client to hang up
        self.deadline: asyncio.TimerHandle | None = None
        self.head_since = 0.0  # when the request head awaited became due
        self.body_last = self.rate_since = 0.0  # the last body bytes' arrival; since when the rate is kept
        self.rate_bytes = 0  # body bytes since ``rate_since``
        self.cut_short: RequestResponseCycle | None = None  # the request whose body we stopped waiting for

    # --- connections and the cap ---

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.refuse()
            return
        if self.refusals.refused:
            log.info("accepting connections again", refused=self.refusals.refused)
            self.refusals.refused = 0
        self.await_head()

    def refuse(self) -> None:
        self.connections.discard(self)
        self.phase = "refused"
        refusals = self.refusals
        if not refusals.refused:
            log.info("at the connection limit: refusing new connections", limit=self.limits.max_connections)
        refusals.refused += 1
        if refusals.lingering >= self.limits.max_lingering:
            self.transport.abort()  # a flood: the open-file limit comes first
            return
        refusals.lingering += 1
        self.lingering = True
        self.transport.write(self.with_defaults(OVER_CAPACITY))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.arm(LINGER_SECONDS, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self.lingering:
            self.lingering = False
            self.refusals.lingering -= 1
        super().connection_lost(exc)

    # --- reading requests ---

    def data_received(self, data: bytes) -> None:
        if self.phase == "refused":
            return
        super().data_received(data)
        if self.deadline is not None or self.phase in {"upgraded", "refused"} or self.transport.is_closing():
            return
        # Deadlines are armed here, once a read leaves a phase unfinished, not for every request that
        # arrives whole in one read.
        if self.phase == "head":
            due = self.head_since + self.limits.header_timeout
            self.arm(max(due - self.loop.time(), 0.001), self.head_overdue)
        elif self.phase == "body":
            self.arm(self.limits.body_timeout, self.check_body)
        elif self.cycle is None or self.cycle.response_complete:
            # Bytes that began no request (blank lines), or the rest of a body already answered: the
            # keep-alive timer they cancelled is not armed again, so the next request's head is due.
            self.await_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase != "head":  # the next request on a kept-alive connection
            self.phase = "head"
            self.head_since = self.loop.time()
        self.begun = True

    def on_headers_complete(self) -> None:
        self.disarm()
        self.phase = "body"
        self.body_last = self.rate_since = self.loop.time()
        self.rate_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.body_last = self.loop.time()
        self.rate_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.disarm()
        self.phase = "app"
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self.disarm()
        self.phase = "upgraded"
        super().handle_websocket_upgrade()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        async def quiet_when_cut_short(
            scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
        ) -> None:
            try:
                await app(scope, receive, send)
            except Exception:
                if cycle is not self.cut_short:
                    raise
                # The app heard a disconnect mid-body because we cut it off, and that is logged already.
                log.debug(
                    "the app ended on the disconnect of a timed out body", error=repr(sys.exc_info()[1])
                )

        super()._start_asgi_task(cycle, quiet_when_cut_short)

    def timeout_keep_alive_handler(self) -> None:
        log.debug("closed an idle connection", client=self.client_address())
        super().timeout_keep_alive_handler()

    # --- deadlines ---

    def await_head(self) -> None:
        self.phase = "head"
        self.begun = False
        self.head_since = self.loop.time()
        self.arm(self.limits.header_timeout, self.head_overdue)

    def head_overdue(self) -> None:
        self.deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request's head waits for the response before it: its time starts after that.
            self.arm(self.limits.header_timeout, self.head_overdue)
            return
        if self.begun:
            log.info("request headers timed out", client=self.client_address())
            self.transport.write(self.with_defaults(TIMED_OUT))
        else:
            log.debug("closed a connection that sent no request", client=self.client_address())
        self.transport.close()

    def check_body(self) -> None:
        self.deadline = None
        now = self.loop.time()
        cycle = self.cycle
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            # We are the ones not reading (the app has not taken what came, or has not asked for the body
            # yet): the client waits on us, so its clock starts again.
            self.body_last = self.rate_since = now
            self.rate_bytes = 0
        limits = self.limits
        due = self.body_last + limits.body_timeout
        if limits.body_min_rate:
            due = min(due, self.rate_since + limits.body_timeout + self.rate_bytes / limits.body_min_rate)
        if now < due:
            self.arm(max(due - now, 0.001), self.check_body)
            return
        answered = cycle.response_started
        log.info("request body timed out", client=self.client_address(), answered=answered)
        self.cut_short = cycle
        cycle.disconnected = True  # the app's receive() hears a disconnect, its send() writes nothing more
        cycle.keep_alive = False
        cycle.message_event.set()
        if not answered:
            self.transport.write(self.with_defaults(TIMED_OUT))
        self.transport.close()

    def arm(self, delay: float, callback: Any) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(delay, callback)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    # --- helpers ---

    def with_defaults(self, response: bytes) -> bytes:
        """``response`` with the server's default headers (date, server) after its status line."""
        line_end = response.index(b"\r\n") + 2
        defaults = b"".join(
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )
        return response[:line_end] + defaults + response[line_end:]

    def client_address(self) -> str | None:
        return f"{self.client[0]}:{self.client[1]}" if self.client else None


def connection_cap(wanted: int, file_limit: int) -> int:
    """The connections a process may hold under its open-file limit, leaving files for everything else: the
    database and Redis pools, uploads spooled to disk, logs, and refusals being answered."""
    if file_limit == -1 or file_limit >= 2**62:  # RLIM_INFINITY
        return wanted
    reserve = min(1024, max(file_limit // 4, 64))
    return max(1, min(wanted, file_limit - reserve))
