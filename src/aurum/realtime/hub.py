"""One per API process: the Redis subscription that wakes it, the subscribers and sockets it serves.

Delivery never trusts Redis with the data. A wake-up only says "user U has events up to N"; the hub then reads
the events after its cursor for U from PostgreSQL, once for all of U's local subscribers, and hands them on.
A subscriber that resumes reads what it missed from the table itself, so a lost wake-up delays, never loses.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurum.errors import InvalidInput
from aurum.events.publish import CONTROL_CHANNEL, EVENTS_CHANNEL, Announcer, sweep
from aurum.realtime.reading import PAGE, Change, Held, ended_credentials, last_event_id, read_changes
from aurum.realtime.streams import Subscriber, UserStream
from aurum.resources import Resources

__all__ = ["Change", "Closer", "Connection", "Hub"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
RETRY = 1.0  # seconds before reading again after the database failed a read
RECHECK_BATCH = 100  # users whose credentials one transaction rechecks

# Close codes (graphql-transport-ws leaves 4000-4999 to applications; 4403 is its "Forbidden").
TOKEN_EXPIRED = 4403
SESSION_ENDED = 4403
SLOW_CONSUMER = 4413
AHEAD = "This cursor is ahead of every change recorded (is it from before a restore?): subscribe without one"


Closer = Callable[[int, str], Coroutine[Any, Any, None]]


@dataclass(eq=False, slots=True, weakref_slot=True)
class Connection:
    """A socket of one user: closed by the hub when its token expires or its session ends."""

    user_id: uuid.UUID
    session_id: uuid.UUID | None
    close: Closer
    api_key_id: uuid.UUID | None = None


class Expiries:
    """When each socket's token expires: one timer for the process, not one per socket (~0.8 KiB each).

    Holds the sockets weakly: one that closes before its token expires is not kept for it."""

    def __init__(self, expired: Callable[[Connection], None]) -> None:
        self.expired = expired
        self.due: list[tuple[float, int, weakref.ref[Connection]]] = []  # a heap, soonest first
        self.order = itertools.count()  # ties in time never compare the references
        self.timer: asyncio.TimerHandle | None = None

    def add(self, connection: Connection, expires_at: datetime) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time() + max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
        heapq.heappush(self.due, (at, next(self.order), weakref.ref(connection)))
        if self.timer is None or at < self.timer.when():
            self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_at(self.due[0][0], self._fire) if self.due else None

    def _fire(self) -> None:
        now = asyncio.get_running_loop().time()
        while self.due and self.due[0][0] <= now:
            connection = heapq.heappop(self.due)[2]()
            if connection is not None:
                self.expired(connection)
        self.timer = None
        self._arm()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def recheck_batches(users: list[uuid.UUID], size: int) -> list[list[uuid.UUID]]:
    """The users in batches of at most ``size``, as even as can be (100 and 1 would be two spikes)."""
    if not users:
        return []
    count = -(-len(users) // size)
    return [users[i::count] for i in range(count)]


class Hub:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.streams: dict[uuid.UUID, UserStream] = {}
        self.connections: dict[uuid.UUID, set[Connection]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.background: set[asyncio.Task[Any]] = set()
        self.listening = asyncio.Event()
        self.announcer = Announcer(resources)
        self.due: set[uuid.UUID] = set()  # users whose new events are to be read
        self.reader: asyncio.Task[None] | None = None
        self.opening: dict[uuid.UUID, asyncio.Future[UserStream]] = {}
        self.expiries = Expiries(self._expired)
        # Subscribers read from the database (their cursor, their replay) a few at a time: a storm of
        # reconnects then waits here, small, rather than in the connection pool with a session each.
        self.reads = asyncio.Semaphore(max(1, self.settings.db_pool_size // 2))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` on its own; it is cancelled when the hub stops."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

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
        self.expiries.stop()

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
        """Close sockets whose session, key or account ended unbeknown to this process: each user's once an
        interval, a batch of users at a time, the batches spread over the interval (thousands of users
        rechecked back to back held the process for a second a minute)."""
        interval = self.settings.ws_recheck_interval
        while True:
            batches = recheck_batches(list(self.connections), RECHECK_BATCH)
            for batch in batches or [[]]:
                await asyncio.sleep(interval / max(1, len(batches)))
                try:
                    await self._recheck(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("credentials could not be rechecked", exc_info=True)

    async def _recheck(self, users: list[uuid.UUID]) -> None:
        held = {u: list(self.connections.get(u, ())) for u in users}
        held = {u: connections for u, connections in held.items() if connections}
        if not held:
            return
        ended = await ended_credentials(
            self.resources.engine,
            [
                Held(
                    user_id,
                    [c.session_id for c in connections if c.session_id is not None],
                    [c.api_key_id for c in connections if c.api_key_id is not None],
                )
                for user_id, connections in held.items()
            ],
        )
        for user_id, connections in held.items():
            gone = ended.get(user_id, set())
            for connection in connections:
                if gone & {connection.session_id, connection.api_key_id, user_id}:
                    await connection.close(SESSION_ENDED, "Session ended: sign in again")

    async def _on_message(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        data = orjson.loads(message["data"])
        if channel == EVENTS_CHANNEL:
            user_id = uuid.UUID(data["user"])
            stream = self.streams.get(user_id)
            if stream is not None and stream.cursor < int(data["last"]):
                self._read_soon(user_id)
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
            self._read_soon(user_id)

    # --- fetching and delivery ---

    def _read_soon(self, user_id: uuid.UUID) -> None:
        """Read the user's new events with the next batch: one reader, so each user's events stay in order."""
        self.due.add(user_id)
        if self.reader is None or self.reader.done():
            self.reader = self.spawn(self._read_due())

    async def _read_due(self) -> None:
        """Read the new events of every user woken meanwhile, in one transaction, and hand them on."""
        while self.due:
            streams = {u: s for u in self.due if (s := self.streams.get(u)) is not None}
            self.due.clear()
            try:
                pages = await read_changes(self.resources.engine, [(u, s.cursor) for u, s in streams.items()])
            except Exception:  # the database is away: try again, for as long as anyone listens
                log.warning("events could not be read", exc_info=True)
                self.due.update(streams)
                await asyncio.sleep(RETRY)
                continue
            for user_id, stream in streams.items():
                self._hand_on(stream, pages[user_id])
                if len(pages[user_id]) == PAGE or self.streams.get(user_id, stream) is not stream:
                    self.due.add(user_id)  # more to read, or a new stream replaced this one meanwhile

    def _hand_on(self, stream: UserStream, changes: list[Change]) -> None:
        if not changes:
            return
        for subscriber in stream.append(changes):
            # A consumer this far behind is cut loose rather than allowed to hold up its stream; it resumes
            # from its cursor when it reconnects.
            if subscriber.connection is not None:
                reason = "Too far behind: reconnect and resume from your cursor"
                self.spawn(subscriber.connection.close(SLOW_CONSUMER, reason))

    async def changes(
        self, user_id: uuid.UUID, after: int | None, connection: Connection | None
    ) -> AsyncIterator[Change]:
        """Every event of the user after ``after`` (replayed from the table), then live ones, in order, with
        no gap and no duplicate. Without ``after``, only what happens from now on."""
        subscriber = Subscriber(user_id, connection)
        stream = await self.join(subscriber)
        try:
            last = stream.cursor if after is None else after
            if after is not None:
                async for change in self.replay(stream, user_id, after):
                    last = change.id
                    yield change
            while True:
                change = await stream.take(subscriber)
                if change.id > last:
                    last = change.id
                    yield change
        finally:
            self.leave(stream, subscriber)

    async def replay(self, stream: UserStream, user_id: uuid.UUID, after: int) -> AsyncIterator[Change]:
        """The user's events after ``after`` that the stream, joined before, will not bring: from the table.
        From where the stream stands or later, everything still to come comes live: nothing to read."""
        if after >= stream.cursor:
            if after > stream.cursor and after > await self._newest(user_id):
                # Nothing would ever come: a cursor of a database since restored from a backup, or forged.
                raise InvalidInput(AHEAD, ["after"])
            return
        while True:
            async with self.reads:
                page = (await read_changes(self.resources.engine, [(user_id, after)]))[user_id]
            for change in page:
                after = change.id
                yield change
            if len(page) < PAGE:
                return

    async def _newest(self, user_id: uuid.UUID) -> int:
        """The user's newest event as the table has it (the stream may trail it by a moment)."""
        async with self.reads:
            return await last_event_id(self.resources.engine, user_id)

    async def join(self, subscriber: Subscriber) -> UserStream:
        """Follow the subscriber's user's stream from now on. Subscribed first, so that nothing committed
        from here on can slip between a replay and what comes live."""
        user_id = subscriber.user_id
        stream = self.streams.get(user_id)
        if stream is None:
            opened = await self._open(user_id)
            stream = self.streams.setdefault(user_id, opened)
            if stream is opened:
                # A wake-up that came while the cursor was being read found no stream here: read once more.
                self._read_soon(user_id)
        stream.join(subscriber)
        return stream

    def _open(self, user_id: uuid.UUID) -> asyncio.Future[UserStream]:
        """A new stream for the user, its cursor read once however many of their subscribers ask at once."""
        opening = self.opening.get(user_id)
        if opening is None:
            opening = self.opening[user_id] = self.spawn(self._new_stream(user_id))
            opening.add_done_callback(lambda _: self.opening.pop(user_id, None))
        return asyncio.shield(opening)

    async def _new_stream(self, user_id: uuid.UUID) -> UserStream:
        async with self.reads:
            cursor = await last_event_id(self.resources.engine, user_id)
        return UserStream(cursor, self.settings.ws_queue_size)

    def leave(self, stream: UserStream, subscriber: Subscriber) -> None:
        stream.subscribers.discard(subscriber)
        if not stream.subscribers and self.streams.get(subscriber.user_id) is stream:
            del self.streams[subscriber.user_id]

    async def shared(
        self, user_id: uuid.UUID, change: Change, key: Hashable, make: Callable[[], Awaitable[T]]
    ) -> T:
        """``make()`` once per change, key and user, however many subscribers here show that change."""
        stream = self.streams.get(user_id)
        if stream is None:
            return await make()
        return await stream.shared_result(change, key, make)

    # --- sockets ---

    def admit(self, connection: Connection, expires_at: datetime | None) -> bool:
        """Register a socket; ``False`` when the user already holds as many as allowed here."""
        mine = self.connections.setdefault(connection.user_id, set())
        if len(mine) >= self.settings.ws_max_connections_per_user:
            return False
        mine.add(connection)
        if expires_at is not None:
            self.expiries.add(connection, expires_at)
        return True

    def _expired(self, connection: Connection) -> None:
        if connection in self.connections.get(connection.user_id, ()):
            self.spawn(connection.close(TOKEN_EXPIRED, "Token expired: reconnect with a fresh one"))

    def release(self, connection: Connection) -> None:
        mine = self.connections.get(connection.user_id)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self.connections[connection.user_id]
