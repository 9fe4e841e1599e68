"""graphql-transport-ws as Strawberry speaks it, except that recordChanged takes the lean path of
``aurum.realtime.broadcast``: per change and selection one execution, and per idle subscription no task,
only a ``Feed`` that the user's stream wakes when changes arrive."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import strawberry
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.utils.aio import aclosing

from aurum.graphql.context import Context
from aurum.graphql.documents import Prepared, documents_of
from aurum.graphql.extensions import rejected_query_code, several_operations
from aurum.realtime.broadcast import Following, failure, follows_record_changed, plan_for, render
from aurum.realtime.graphql import decode_cursor, wanted_types
from aurum.realtime.reading import Change
from aurum.realtime.streams import Subscriber, UserStream
from aurum.serving import WebSocketProtocol, text_frame

_FINISHED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[None]] = (
    weakref.WeakKeyDictionary()
)


def finished() -> asyncio.Future[None]:
    """A future of the running loop that is done: cancelling or awaiting it does nothing."""
    loop = asyncio.get_running_loop()
    future = _FINISHED.get(loop)
    if future is None:
        future = _FINISHED[loop] = loop.create_future()
        future.set_result(None)
    return future


PAYLOAD_FIELDS = (
    ("variables", dict, "an object"),
    ("extensions", dict, "an object"),
    ("operationName", str, "a string"),
)


def malformed(message: object) -> str | None:
    """Why a message breaks graphql-transport-ws (the socket closes 4400 with it), or ``None``; Strawberry
    trusts the shapes and would fail on them in ways a client never hears of."""
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if kind in ("subscribe", "complete") and not (isinstance(message.get("id"), str) and message["id"]):
        return f"A {kind} message needs an 'id' that is a non-empty string"
    if kind != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "A subscribe message needs a 'payload' with the 'query' as a string"
    for key, kind_of, described in PAYLOAD_FIELDS:
        if payload.get(key) is not None and not isinstance(payload[key], kind_of):
            return f"'payload.{key}' must be {described} or null"
    return None


@dataclass(frozen=True)
class Refusal:
    message: str
    code: str | None = None  # None: the socket closes 4400, as graphql-ws closes it for these


def unrunnable(prepared: Prepared, operation_name: str | None) -> Refusal | None:
    """Why the document cannot run, known before Strawberry tries (it fails on these without a word to the
    client): a syntax error or an unknown operation closes the socket; several operations and no name, or a
    document over the size limits, is an ``error`` of the operation."""
    if prepared.anatomy is None:
        error = prepared.errors[0]
        code = rejected_query_code(error)
        return Refusal(error.message, code if code == "QUERY_TOO_COMPLEX" else None)
    names = [o.name.value if o.name else None for o in prepared.anatomy.operations]
    if operation_name is None and len(names) > 1:
        return Refusal(several_operations(len(names)), "GRAPHQL_VALIDATION_FAILED")
    if operation_name is not None and operation_name not in names:
        return Refusal(f'Unknown operation named "{operation_name}"')
    return None


def _lean(prepared: Prepared, operation_name: str | None) -> bool:
    """Whether the operation (already found runnable) is a recordChanged subscription alone."""
    assert prepared.anatomy is not None
    operation = prepared.anatomy.operation(operation_name)
    return operation is not None and follows_record_changed(operation)


NEXT_FRAME = "next-frame"  # a key of the shared frames, beside the payloads' own keys


def next_message(operation_id: str, payload: str) -> str:
    """A ``next`` message of the operation with this payload text."""
    return '{"id":' + orjson.dumps(operation_id).decode() + ',"type":"next","payload":' + payload + "}"


class Feed(Subscriber):
    """One lean subscription: what it follows, how far it has sent, and its sender while it has one."""

    __slots__ = ("handler", "last", "operation", "plan", "sender", "stream", "wanted")

    def __init__(
        self, handler: TransportHandler, operation: Operation[Context, None], following: Following
    ) -> None:
        super().__init__(handler.context.user_id, handler.context.connection)
        self.handler = handler
        self.operation = operation
        self.plan = following.plan
        self.wanted = wanted_types(following.entity_types)
        self.last = 0  # the id of the last change sent (or skipped)
        self.stream: UserStream | None = None
        self.sender: asyncio.Task[None] | None = None  # set while sending (the replay included)

    def arrived(self) -> None:
        self.handler.wake(self)


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feeds: dict[str, Feed] = {}

    async def handle_message(self, message: Message) -> None:
        problem = malformed(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        try:
            await super().handle_message(message)
        finally:
            # Strawberry's reading loop holds the last message for as long as the socket then idles.
            cast("dict[str, object]", message).clear()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        self.connection_init_timeout_task = None  # cancelled by now: nothing of it to keep per socket

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        full = self.max_subscriptions_per_connection is not None and (
            len(self.operations) >= self.max_subscriptions_per_connection
        )
        if self.connection_acknowledged and message["id"] not in self.operations and full:
            limit = f"This connection has {len(self.operations)} operations running, the most it may"
            await self._refuse(message["id"], limit, "RATE_LIMITED")
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        schema = cast(strawberry.Schema, self.schema)
        prepared = await documents_of(schema).prepare(operation.query)
        refusal = unrunnable(prepared, operation.operation_name)
        if refusal is not None:
            self.operations.pop(operation.id, None)
            if refusal.code is None:
                await self.handle_invalid_message(refusal.message)
            else:
                await self._refuse(operation.id, refusal.message, refusal.code)
            return
        query, variables, name = operation.query, operation.variables, operation.operation_name
        following = (
            await plan_for(schema, query, variables, name, self.context) if _lean(prepared, name) else None
        )
        if following is None:  # not recordChanged alone, or something its lean path leaves to Strawberry
            await super().run_operation(operation)
            return
        # Read: the shared plan stands for them from here on, and idle sockets need not keep copies.
        operation.query, operation.variables = following.plan.query, None
        feed = self.feeds[operation.id] = Feed(self, operation, following)
        feed.sender = asyncio.current_task()
        try:
            await self._start(feed, following.after)
        except Exception as error:  # a bad cursor, a failed read: as Strawberry reports a failing source
            await self._end(feed, failure(error, self.context.request_id))
        # Strawberry keeps each operation's task to cancel it; a finished one still holds ~0.7 KiB, so an
        # operation that now lives on as its feed keeps a shared finished stand-in instead.
        operation.task = cast("asyncio.Task[None]", finished())  # Strawberry only cancels and awaits it

    async def cleanup_operation(self, operation_id: str) -> None:
        feed = self.feeds.pop(operation_id, None)
        if feed is not None:
            self._leave(feed)
        await super().cleanup_operation(operation_id)

    async def _start(self, feed: Feed, after: str | None) -> None:
        """Join the user's stream, replay what the cursor asks for, then send what came meanwhile."""
        start = decode_cursor(after) if after is not None else None
        hub = self.context.realtime()
        feed.stream = await hub.join(feed)
        feed.last = feed.stream.cursor if start is None else start
        if start is not None:
            async with aclosing(hub.replay(feed.stream, feed.user_id, start)) as replayed:
                async for change in replayed:
                    if not await self._send_change(feed, change):
                        return
        await self._drain(feed)

    async def _refuse(self, operation_id: str, message: str, code: str) -> None:
        error = {"message": message, "extensions": {"code": code}}
        await self.send_message(cast(Message, {"id": operation_id, "type": "error", "payload": [error]}))

    def wake(self, feed: Feed) -> None:
        """New changes for the feed: sent at once if they can be (their payload is ready, the socket has
        room), else by a task of the feed's, unless a sender is at it already."""
        if feed.sender is not None or self.feeds.get(feed.operation.id) is not feed:
            return
        stream = feed.stream
        assert stream is not None
        while (change := stream.poll(feed)) is not None:
            if not self._sent_now(feed, change):
                feed.sender = asyncio.create_task(self._send_new(feed, change))
                return

    def _sent_now(self, feed: Feed, change: Change) -> bool:
        """Whether the change is dealt with at once: sent (its payload ready, the socket taking it without
        waiting) or not for this feed. ``False`` leaves it to the feed's task, which waits for what this
        could not, or meets the failure again and ends the operation."""
        if change.id <= feed.last:
            return True
        if change.entity_type not in feed.wanted:
            feed.last = change.id
            return True
        stream = feed.stream
        protocol = self._protocol()
        if stream is None or protocol is None or feed.operation.completed:
            return False
        try:
            payload = stream.shared_future(change, feed.plan.key, self._render(feed, change))
            if not payload.done() or payload.cancelled() or payload.exception() is not None:
                return False
            key = (NEXT_FRAME, feed.plan.key, feed.operation.id)
            frame = stream.shared_value(change, key, self._framer(feed, payload.result()))
            if not protocol.write_now(frame):
                return False
        except Exception:  # unexpected: the task path meets it again and reports it
            return False
        feed.last = change.id
        return True

    def _render(self, feed: Feed, change: Change) -> Callable[[], str | Awaitable[str]]:
        schema = cast(strawberry.Schema, self.schema)
        return functools.partial(render, schema, feed.plan, change, self.context)

    @staticmethod
    def _framer(feed: Feed, payload: str) -> Callable[[], bytes]:
        return lambda: text_frame(next_message(feed.operation.id, payload).encode())

    def _protocol(self) -> WebSocketProtocol | None:
        """Our uvicorn protocol under this socket, to write shared frames to; ``None`` under another
        server (a test client), where every message goes the ASGI way."""
        websocket = cast(WebSocket, self.context.request)
        protocol = getattr(websocket._send, "__self__", None)
        return protocol if isinstance(protocol, WebSocketProtocol) else None

    async def _send_new(self, feed: Feed, pending: Change | None = None) -> None:
        try:
            if pending is not None and not await self._send_change(feed, pending):
                return  # the socket is gone: nothing will wake this feed again
            await self._drain(feed)
        except Exception as error:  # unexpected: logged, and the operation ends as Strawberry would end it
            await self.handle_task_exception(error)
            await self._end(feed, failure(error, self.context.request_id))

    async def _drain(self, feed: Feed) -> None:
        """Send every change the stream holds for this feed; the next arrival wakes it again."""
        stream = feed.stream
        assert stream is not None
        while (change := stream.poll(feed)) is not None:
            if not await self._send_change(feed, change):
                return  # the socket is gone: nothing will wake this feed again
        feed.sender = None

    async def _send_change(self, feed: Feed, change: Change) -> bool:
        if change.id <= feed.last:
            return True
        feed.last = change.id
        if change.entity_type not in feed.wanted:
            return True
        assert feed.stream is not None  # joined before anything is sent
        future = feed.stream.shared_future(change, feed.plan.key, self._render(feed, change))
        payload = future.result() if future.done() else await asyncio.shield(future)
        return await self._send_next(feed.operation, payload)

    async def _end(self, feed: Feed, payload: str) -> None:
        """A ``next`` with the failure, then ``complete``, as Strawberry ends a failing subscription."""
        self.feeds.pop(feed.operation.id, None)
        self._leave(feed)
        if await self._send_next(feed.operation, payload):
            with contextlib.suppress(Exception):  # the socket may be gone by now
                await feed.operation.send_operation_message({"id": feed.operation.id, "type": "complete"})

    def _leave(self, feed: Feed) -> None:
        if feed.stream is not None:
            self.context.realtime().leave(feed.stream, feed)
        if feed.sender is not None and feed.sender is not asyncio.current_task():
            feed.sender.cancel()
        feed.sender = None

    async def _send_next(self, operation: Operation[Context, None], payload: str) -> bool:
        """Send a ``next`` message with this payload text; ``False`` once the operation or socket is done."""
        if operation.completed:
            return False
        websocket = cast(WebSocket, self.context.request)
        message = next_message(operation.id, payload)
        try:
            await websocket.send_text(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return False
        return True
