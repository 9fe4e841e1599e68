"""Per user and process: the changes read for that user's subscribers here, held once for all of them.

Each subscriber only remembers how far it has taken; the changes themselves sit in one bounded buffer per
user. A subscriber that falls more than the buffer's size behind is cut loose (and resumes from its cursor),
so a slow consumer costs no memory of its own.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from aurum.realtime.reading import Change

if TYPE_CHECKING:
    from aurum.realtime.hub import Connection

T = TypeVar("T")
SHARED = 256  # changes per user whose shared results are kept, at most


class Subscriber:
    """One subscription's place in its user's stream. It waits in ``take``, or is told of each arrival by
    ``arrived`` (a subclass that sends without a task of its own while idle)."""

    __slots__ = ("connection", "overflowed", "taken", "user_id")

    def __init__(self, user_id: uuid.UUID, connection: Connection | None) -> None:
        self.user_id = user_id
        self.connection = connection
        self.taken = 0  # the stream's sequence number of the next change this subscriber takes
        self.overflowed = False

    def arrived(self) -> None:
        """New changes are in the stream."""


class UserStream:
    """The hub's reading position for one user and the last changes read, for that user's subscribers."""

    __slots__ = ("appended", "arrived", "cursor", "recent", "shared", "subscribers")

    def __init__(self, cursor: int, size: int) -> None:
        self.cursor = cursor
        self.subscribers: set[Subscriber] = set()
        self.recent: deque[Change] = deque(maxlen=size)
        self.appended = 0  # changes ever appended: the sequence number of the next one
        self.arrived = asyncio.Event()
        self.shared: dict[int, dict[Hashable, Any]] = {}  # per change: futures and values, by key

    def join(self, subscriber: Subscriber) -> None:
        subscriber.taken = self.appended
        self.subscribers.add(subscriber)

    def append(self, changes: Iterable[Change]) -> list[Subscriber]:
        """Hand on new changes; returns the subscribers that fell too far behind (marked overflowed)."""
        self._trim()
        for change in changes:
            self.recent.append(change)
            self.appended += 1
            self.cursor = change.id
        self.arrived.set()
        self.arrived.clear()  # the waiters already woken stay woken
        limit = self.recent.maxlen or 0
        behind = [s for s in self.subscribers if not s.overflowed and self.appended - s.taken > limit]
        for subscriber in behind:
            subscriber.overflowed = True
        for subscriber in list(self.subscribers):
            if not subscriber.overflowed:
                subscriber.arrived()
        return behind

    def _trim(self) -> None:
        """Forget what every subscriber has taken already, and what was shared about it."""
        floor = min((s.taken for s in self.subscribers if not s.overflowed), default=self.appended)
        while self.recent and self.appended - len(self.recent) < floor:
            self.recent.popleft()
        oldest = self.recent[0].id if self.recent else self.cursor + 1
        for change_id in [c for c in self.shared if c < oldest]:
            del self.shared[change_id]

    def poll(self, subscriber: Subscriber) -> Change | None:
        """The subscriber's next change, if there is one already (never for an overflowed one)."""
        if subscriber.taken >= self.appended or subscriber.overflowed:
            return None
        change = self.recent[subscriber.taken - self.appended + len(self.recent)]
        subscriber.taken += 1
        return change

    async def take(self, subscriber: Subscriber) -> Change:
        """The subscriber's next change once there is one; an overflowed one waits for its socket to close."""
        while (change := self.poll(subscriber)) is None:
            await self.arrived.wait()
        return change

    async def shared_result(self, change: Change, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """``make()`` once per change and key for all subscribers of the user (the first to ask starts it)."""
        future: asyncio.Future[T] = self.shared_future(change, key, make)
        if future.done():
            return future.result()
        return await asyncio.shield(future)

    def shared_future(
        self, change: Change, key: Hashable, make: Callable[[], Awaitable[T] | T]
    ) -> asyncio.Future[T]:
        """The future of ``make()``, made once per change and key; done at once when ``make`` needed no
        waiting (a payload that reads nothing more), so that its subscribers can be sent it without a task."""
        results = self._results(change)
        future: asyncio.Future[T] | None = results.get(key)
        if future is None:
            future = results[key] = _future_of(make)
        return future

    def shared_value(self, change: Change, key: Hashable, make: Callable[[], T]) -> T:
        """``make()`` once per change and key: what is derived from a shared result, the same for many."""
        results = self._results(change)
        if key not in results:
            results[key] = make()
        value: T = results[key]
        return value

    def _results(self, change: Change) -> dict[Hashable, Any]:
        results = self.shared.get(change.id)
        if results is None:
            results = self.shared[change.id] = {}
            while len(self.shared) > SHARED:
                del self.shared[next(iter(self.shared))]
        return results


def _future_of(make: Callable[[], Awaitable[T] | T]) -> asyncio.Future[T]:
    try:
        made = make()
    except Exception as error:
        failed: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        failed.set_exception(error)
        return failed
    if inspect.isawaitable(made):
        return asyncio.ensure_future(made)
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    future.set_result(made)
    return future
