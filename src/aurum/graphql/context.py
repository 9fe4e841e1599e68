"""What every resolver can reach: the viewer, sessions and the per-request dataloaders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from aurum.auth.model import User
from aurum.auth.principal import Principal
from aurum.auth.sessions import Device
from aurum.db import Actor, UnitOfWork, read_session, unit_of_work
from aurum.errors import Unauthenticated
from aurum.graphql.eager import Eventually, then
from aurum.resources import Resources

if TYPE_CHECKING:
    from aurum.realtime.hub import Connection, Hub

BatchLoad = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]


class SharedLoader(DataLoader[Any, Any]):
    """A dataloader whose loads survive one of their waiters being cancelled.

    Fields that load the same key await one future. graphql-core cancels the rest of a list's items when one
    of them fails, and cancelling a task cancels the future it awaits: the shared one, under every other
    field waiting for it, which then failed with CancelledError and took the request down with a 500
    (found by tests/test_compiled_differential.py). Each waiter gets a shield of its own instead."""

    def load(self, key: Any) -> Awaitable[Any]:
        return asyncio.shield(super().load(key))


class Context:
    """One per request (or per WebSocket: a thousand idle sockets each keep one, hence the slots)."""

    __slots__ = (
        "_loaders",
        "_user_id",
        "auth_error",
        "charged",
        "connection",
        "connection_params",
        "hub",
        "principal",
        "request",
        "request_id",
        "resources",
    )

    def __init__(
        self,
        resources: Resources,
        request: HTTPConnection,
        request_id: str,
        principal: Principal | None,
        auth_error: str | None = None,
        hub: Hub | None = None,
    ) -> None:
        self.resources = resources
        self.request = request
        self.request_id = request_id
        self.principal = principal
        self._user_id = principal.user_id if principal else None
        self.auth_error = auth_error
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self.hub = hub
        self.charged = False  # the request's cost is charged to the user's budget already
        self.connection: Connection | None = None
        self.connection_params: dict[str, Any] = {}

    def fresh(self) -> Context:
        """The same caller with nothing loaded yet: for work that outlives this context's loaders."""
        context = Context(
            self.resources, self.request, self.request_id, self.principal, self.auth_error, self.hub
        )
        context.connection = self.connection
        return context

    def sign_in(self, principal: Principal) -> None:
        """A WebSocket authenticates after it opens, with its first message."""
        self.principal = principal
        self._user_id = principal.user_id
        self.auth_error = None

    def realtime(self) -> Hub:
        if self.hub is None:
            raise RuntimeError("subscriptions are served by the API process only")
        return self.hub

    @property
    def is_authenticated(self) -> bool:
        return self._user_id is not None

    @property
    def user_id(self) -> uuid.UUID:
        """The viewer's id; anonymous requests stop here with UNAUTHENTICATED."""
        if self._user_id is None:
            raise Unauthenticated(
                self.auth_error or "Sign in to do this: send 'Authorization: Bearer <token>'"
            )
        return self._user_id

    @property
    def device(self) -> Device:
        client = self.request.client
        return Device(
            user_agent=self.request.headers.get("user-agent"), address=client.host if client else None
        )

    def loader(self, key: Hashable, batch: BatchLoad) -> DataLoader[Any, Any]:
        """The request's dataloader for ``key``, created on first use with ``batch``."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = SharedLoader(load_fn=batch)
        return found

    def forget_loaded(self) -> None:
        """Drop what loaders cached: called after a write so the payload shows the new state."""
        self._loaders.clear()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with read_session(self.resources.sessionmaker, self.user_id) as session:
            yield session

    @property
    def actor(self) -> Actor:
        principal = self.principal
        if principal is not None and principal.api_key_id is not None:
            return Actor("api_key", principal.api_key_id, self.request_id)
        return Actor("user", self._user_id, self.request_id)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[UnitOfWork]:
        user_id = self.user_id
        async with unit_of_work(self.resources.sessionmaker, user_id, self.actor) as uow:
            yield uow
        self.written(user_id)

    def written(self, user_id: uuid.UUID) -> None:
        """After a write's commit: what was loaded is stale, and its events are announced."""
        self.forget_loaded()
        if self.hub is not None:
            self.hub.announcer.request(user_id)  # batched with the process's other writes
        else:
            self.resources.announce(user_id)

    async def viewer(self) -> User:
        """The signed-in user, loaded once per request however many fields ask at the same moment."""
        return _existing(await self._viewer_load())

    def _viewer_load(self) -> Awaitable[User | None]:
        loaded: Awaitable[User | None] = self.loader("viewer", self._load_users).load(self.user_id)
        return loaded

    async def _load_users(self, ids: Sequence[uuid.UUID]) -> list[User | None]:
        async with self.reading() as session:
            users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}
        return [users.get(i) for i in ids]

    async def timezone(self) -> ZoneInfo:
        return ZoneInfo((await self.viewer()).timezone)

    def timezone_eventually(self) -> Eventually[ZoneInfo]:
        """The viewer's time zone, at once once the viewer is loaded (see ``aurum.graphql.eager``)."""
        return then(self._viewer_load(), lambda user: ZoneInfo(_existing(user).timezone))


def _existing(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("This account no longer exists")
    return user
