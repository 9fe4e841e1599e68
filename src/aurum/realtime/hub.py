"""One per API process: the Redis subscription that wakes it, the subscribers and sockets it serves.

Delivery never trusts Redis with the data. A wake-up only says "user U has events up to N"; the hub then reads
the events after its cursor for U from PostgreSQL, once for all of U's local subscribers, and hands them on.
A subscriber that resumes reads what it missed from the table itself, so a lost wake-up delays, never loses.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text

from aurum.db import read_session
from aurum.events.publish import CONTROL_CHANNEL, EVENTS_CHANNEL, sweep
from aurum.resources import Resources

log = structlog.get_logger(__name__)

PAGE = 500
EVENTS_AFTER = text(
    "SELECT id, entity_type, entity_id, operation, changed_fields, occurred_at FROM events"
    " WHERE user_id = :user_id AND id > :after ORDER BY id LIMIT :limit"
)
LAST_EVENT = text("SELECT coalesce(max(id), 0) FROM events WHERE user_id = :user_id")
# What still stands of a user's credentials, from the durable record (a revocation announced while Redis was
# away never reached this process).
ENDED_CREDENTIALS = text(
    "SELECT id FROM auth_sessions WHERE id = ANY(:sessions) AND revoked_at IS NOT NULL"
    " UNION ALL SELECT id FROM api_keys WHERE id = ANY(:keys) AND revoked_at IS NOT NULL"
    " UNION ALL SELECT :user_id WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = :user_id)"
)

# Close codes (graphql-transport-ws leaves 4000-4999 to applications; 4403 is its "Forbidden").
TOKEN_EXPIRED = 4403
SESSION_ENDED = 4403
SLOW_CONSUMER = 4413


@dataclass(frozen=True)
class Change:
    id: int
    entity_type: str
    entity_id: uuid.UUID
    operation: str
    changed_fields: list[str]
    occurred_at: datetime


Closer = Callable[[int, str], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class Connection:
    """A socket of one user: closed by the hub when its token expires or its session ends."""

    user_id: uuid.UUID
    session_id: uuid.UUID | None
    close: Closer
    api_key_id: uuid.UUID | None = None
    expiry: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class Subscriber:
    user_id: uuid.UUID
    queue: asyncio.Queue[Change]
    connection: Connection | None
    overflowed: bool = False


@dataclass
class UserStream:
    """The hub's reading position for one user, shared by all of that user's subscribers here."""

    cursor: int
    subscribers: set[Subscriber] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    nodes: dict[int, asyncio.Task[Any]] = field(default_factory=dict)


class Hub:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.streams: dict[uuid.UUID, UserStream] = {}
        self.connections: dict[uuid.UUID, set[Connection]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.background: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # --- lifecycle ---

    async def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self._listen(), name="hub-listen"),
            asyncio.create_task(self._sweep_loop(), name="hub-sweep"),
            asyncio.create_task(self._recheck_loop(), name="hub-recheck"),
        ]

    async def stop(self) -> None:
        for task in [*self.tasks, *self.background]:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.background, return_exceptions=True)
        for connections in list(self.connections.values()):
            for connection in list(connections):
                if connection.expiry is not None:
                    connection.expiry.cancel()

    async def _listen(self) -> None:
        """Hold one Redis subscription for the process; after any outage, catch every local user up."""
        delay = 0.1
        while True:
            # A connection of its own: no read timeout (an idle channel is normal), health-checked instead.
            redis = Redis.from_url(
                self.resources.redis_url, socket_connect_timeout=2, health_check_interval=5
            )
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(EVENTS_CHANNEL, CONTROL_CHANNEL)
                self.listening.set()
                delay = 0.1
                await self._catch_up_everyone()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        await self._on_message(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                self.listening.clear()
                log.warning("redis subscription lost; retrying", error=type(error).__name__, retry_in=delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await redis.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _sweep_loop(self) -> None:
        """One process at a time (a Redis lease) announces events that were committed but never announced."""
        interval = self.settings.event_sweep_interval
        while True:
            await asyncio.sleep(interval)
            try:
                lease = await self.resources.redis.set(
                    "aurum:events:sweeper", b"1", nx=True, px=int(interval * 1000 * 0.9)
                )
                if lease:
                    await sweep(self.resources, older_than_seconds=self.settings.event_sweep_age)
            except asyncio.CancelledError:
                raise
            except Exception:  # the sweep must outlive any one failure
                log.warning("event sweep failed", exc_info=True)

    async def _recheck_loop(self) -> None:
        """Now and then, close sockets whose session, key or account ended unbeknown to this process."""
        while True:
            await asyncio.sleep(self.settings.ws_recheck_interval)
            for user_id in list(self.connections):
                try:
                    await self._recheck(user_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("credentials could not be rechecked", exc_info=True)

    async def _recheck(self, user_id: uuid.UUID) -> None:
        connections = list(self.connections.get(user_id, ()))
        sessions = [c.session_id for c in connections if c.session_id is not None]
        keys = [c.api_key_id for c in connections if c.api_key_id is not None]
        async with read_session(self.resources.sessionmaker, user_id) as session:
            rows = await session.execute(
                ENDED_CREDENTIALS, {"sessions": sessions, "keys": keys, "user_id": user_id}
            )
            ended = {row[0] for row in rows}
        for connection in connections:
            if ended & {connection.session_id, connection.api_key_id, user_id}:
                await connection.close(SESSION_ENDED, "Session ended: sign in again")

    async def _on_message(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        data = orjson.loads(message["data"])
        if channel == EVENTS_CHANNEL:
            user_id = uuid.UUID(data["user"])
            stream = self.streams.get(user_id)
            if stream is not None and stream.cursor < int(data["last"]):
                self.spawn(self._fetch(user_id))
        elif channel == CONTROL_CHANNEL:
            await self._on_control(data)

    async def _on_control(self, data: dict[str, Any]) -> None:
        ended = {uuid.UUID(s) for s in data.get("sessions", [])}
        revoked_keys = {uuid.UUID(k) for k in data.get("api_keys", [])}
        gone = uuid.UUID(data["user"]) if data.get("user") else None
        for user_id, connections in list(self.connections.items()):
            for connection in list(connections):
                if user_id == gone or connection.session_id in ended or connection.api_key_id in revoked_keys:
                    await connection.close(SESSION_ENDED, "Session ended: sign in again")

    async def _catch_up_everyone(self) -> None:
        for user_id in list(self.streams):
            self.spawn(self._fetch(user_id))

    # --- fetching and delivery ---

    async def _read(self, user_id: uuid.UUID, after: int, limit: int = PAGE) -> list[Change]:
        async with read_session(self.resources.sessionmaker, user_id) as session:
            rows = await session.execute(EVENTS_AFTER, {"user_id": user_id, "after": after, "limit": limit})
            return [Change(*row) for row in rows]

    async def _fetch(self, user_id: uuid.UUID) -> None:
        """Read the user's new events once and hand them to every local subscriber of that user."""
        stream = self.streams.get(user_id)
        if stream is None:
            return
        async with stream.lock:
            while True:
                try:
                    changes = await self._read(user_id, stream.cursor)
                except Exception:
                    log.warning("events could not be read", exc_info=True)
                    return
                for change in changes:
                    stream.cursor = change.id
                    for subscriber in list(stream.subscribers):
                        self._deliver(subscriber, change)
                if len(changes) < PAGE:
                    return

    def _deliver(self, subscriber: Subscriber, change: Change) -> None:
        if subscriber.overflowed:
            return
        try:
            subscriber.queue.put_nowait(change)
        except asyncio.QueueFull:
            # A consumer this far behind is cut loose rather than allowed to grow memory; it resumes from
            # its cursor when it reconnects.
            subscriber.overflowed = True
            if subscriber.connection is not None:
                reason = "Too far behind: reconnect and resume from your cursor"
                self.spawn(subscriber.connection.close(SLOW_CONSUMER, reason))

    async def changes(
        self, user_id: uuid.UUID, after: int | None, connection: Connection | None
    ) -> AsyncIterator[Change]:
        """Every event of the user after ``after`` (replayed from the table), then live ones, in order, with
        no gap and no duplicate. Without ``after``, only what happens from now on."""
        subscriber = Subscriber(user_id, asyncio.Queue(self.settings.ws_queue_size), connection)
        stream = await self._join(subscriber)
        try:
            last = stream.cursor if after is None else after
            # Subscribed first, so nothing committed from here on can slip between replay and live.
            while after is not None:
                page = await self._read(user_id, last)
                for change in page:
                    last = change.id
                    yield change
                if len(page) < PAGE:
                    break
            while True:
                change = await subscriber.queue.get()
                if change.id > last:
                    last = change.id
                    yield change
        finally:
            self._leave(subscriber)

    async def _join(self, subscriber: Subscriber) -> UserStream:
        stream = self.streams.get(subscriber.user_id)
        if stream is None:
            async with read_session(self.resources.sessionmaker, subscriber.user_id) as session:
                cursor = int(await session.scalar(LAST_EVENT, {"user_id": subscriber.user_id}) or 0)
            stream = self.streams.get(subscriber.user_id)
            if stream is None:
                stream = self.streams[subscriber.user_id] = UserStream(cursor)
                # A wake-up that came while the cursor was read found no stream: fetch once to be sure.
                self.spawn(self._fetch(subscriber.user_id))
        stream.subscribers.add(subscriber)
        return stream

    def _leave(self, subscriber: Subscriber) -> None:
        stream = self.streams.get(subscriber.user_id)
        if stream is None:
            return
        stream.subscribers.discard(subscriber)
        if not stream.subscribers:
            del self.streams[subscriber.user_id]

    async def shared(self, user_id: uuid.UUID, change: Change, resolve: Callable[[], Awaitable[Any]]) -> Any:
        """Resolve what a change points at once per event and user, however many subscribers show it."""
        stream = self.streams.get(user_id)
        if stream is None:
            return await resolve()
        task = stream.nodes.get(change.id)
        if task is None:
            task = stream.nodes[change.id] = asyncio.ensure_future(resolve())
            while len(stream.nodes) > 256:
                stream.nodes.pop(next(iter(stream.nodes)))
        return await asyncio.shield(task)

    # --- sockets ---

    def admit(self, connection: Connection, expires_at: datetime | None) -> bool:
        """Register a socket; ``False`` when the user already holds as many as allowed here."""
        mine = self.connections.setdefault(connection.user_id, set())
        if len(mine) >= self.settings.ws_max_connections_per_user:
            return False
        mine.add(connection)
        if expires_at is not None:
            delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
            reason = "Token expired: reconnect with a fresh one"
            connection.expiry = asyncio.get_running_loop().call_later(
                delay, lambda: self.spawn(connection.close(TOKEN_EXPIRED, reason))
            )
        return True

    def release(self, connection: Connection) -> None:
        if connection.expiry is not None:
            connection.expiry.cancel()
        mine = self.connections.get(connection.user_id)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self.connections[connection.user_id]
