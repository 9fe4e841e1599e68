"""Engine, sessions and the unit of work: one transaction per mutation, short sessions for reads."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from aurum.settings import Settings
from aurum.unavailable import DatabaseUnreachable

AfterCommit = Callable[[], Awaitable[None]]

# Set while the process works on its own behalf (jobs, after-commit follow-ups) rather than for a request, so
# that work can be told apart from a request's (logs carry it; the tests' statement counts leave it out).
BACKGROUND: ContextVar[str | None] = ContextVar("aurum_background", default=None)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """The app's engine: every connection runs as the database role that row-level security applies to."""
    server_settings = {"application_name": "aurum", "role": settings.database_role}
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=0,  # see Settings.db_pool_size
        hide_parameters=True,  # errors and logs never carry the values (passwords hashes, token hashes, text)
        connect_args={"server_settings": server_settings},
    )
    event.listen(engine.sync_engine, "checkout", _replace_closed)
    event.listen(engine.sync_engine, "do_connect", _connect)
    return engine


def _connect(dialect: Any, record: object, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    """The dialect's own connect, except that a socket failure (refused, no socket file, a timeout) says
    it is the database that cannot be reached: asyncpg lets the bare ``OSError`` through."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:
        raise DatabaseUnreachable(f"PostgreSQL cannot be reached: {error}") from error


def _replace_closed(dbapi_connection: Any, record: object, proxy: object) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is replaced on checkout.

    SQLAlchemy's ``pool_pre_ping`` would ask the server instead: three round trips (BEGIN, a ping, ROLLBACK)
    on every checkout, measured at an eighth of a busy process's time. The server's goodbye has already
    reached the connection by the time it is checked out again, so asking the connection itself suffices.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the database closed this connection")


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the change log records it."""

    kind: str = "user"  # user | api_key | worker | system
    id: uuid.UUID | None = None
    request_id: str | None = None


SET_USER = (
    "SELECT set_config('app.user_id', :user_id, true), set_config('app.actor', :actor, true),"
    " set_config('app.actor_id', :actor_id, true), set_config('app.request_id', :request_id, true)"
)
# A writer takes the user's change-log lock (the one the events trigger takes, aurum.events.triggers) before
# any row lock: all writers of one user then queue in one order, and a mutation and a job never deadlock.
WRITE_AS_USER = text(SET_USER + ", pg_advisory_xact_lock(hashtextextended(:user_id, 4242))")
READ_AS_USER = text(SET_USER)
RAW_ACT_AS = "SELECT set_config('app.user_id', $1, true)"  # the same, in asyncpg's placeholders
RAW_WRITE_AS_USER = (
    "SELECT set_config('app.user_id', $1, true), set_config('app.actor', $2, true),"
    " set_config('app.actor_id', $3, true), set_config('app.request_id', $4, true),"
    " pg_advisory_xact_lock(hashtextextended($1, 4242))"
)


@asynccontextmanager
async def raw_transaction(engine: AsyncEngine, *, readonly: bool = False) -> AsyncIterator[Any]:
    """A pooled connection's own asyncpg connection, in a transaction: for the paths after every write and
    every delivery (announcing, reading events), where SQLAlchemy's layers cost more than the statements."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        async with raw.transaction(readonly=readonly):
            yield raw


@asynccontextmanager
async def raw_transaction_as(engine: AsyncEngine, user_id: uuid.UUID) -> AsyncIterator[Any]:
    """``raw_transaction`` acting for ``user_id``: the transaction and the user named in one round trip,
    committed when the block ends, rolled back on any error."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute(f"BEGIN; SELECT set_config('app.user_id', '{uuid.UUID(str(user_id))}', true)")
        try:
            yield raw
        except BaseException:
            try:
                await raw.execute("ROLLBACK")
            except BaseException:
                raw.terminate()  # never back to the pool inside a transaction
                raise
            raise
        await raw.execute("COMMIT")


@asynccontextmanager
async def raw_read_as(engine: AsyncEngine, user_id: uuid.UUID) -> AsyncIterator[Any]:
    """A pooled connection's asyncpg connection in a read-only transaction acting for ``user_id``: the
    transaction and the user named in one round trip (the id, a UUID, is safe to write into the text)."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        user = str(uuid.UUID(str(user_id)))
        await raw.execute(f"BEGIN READ ONLY; SELECT set_config('app.user_id', '{user}', true)")
        try:
            yield raw
        finally:
            await raw.execute("ROLLBACK")  # read-only: nothing to commit


async def act_as(
    session: AsyncSession, user_id: uuid.UUID, actor: Actor | None = None, *, writing: bool = False
) -> None:
    """Name the user this transaction acts for (row-level security shows it that user's rows only) and who
    is acting, for the change log; one statement."""
    actor = actor or Actor("user", user_id)
    await session.execute(
        WRITE_AS_USER if writing else READ_AS_USER,
        {
            "user_id": str(user_id),
            "actor": actor.kind,
            "actor_id": str(actor.id) if actor.id else "",
            "request_id": actor.request_id or "",
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass
class UnitOfWork:
    """One transaction acting for one user; work that must wait for the commit is queued here."""

    session: AsyncSession
    user_id: uuid.UUID
    after_commit: list[AfterCommit] = field(default_factory=list)

    def on_commit(self, callback: AfterCommit) -> None:
        self.after_commit.append(callback)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, actor: Actor | None = None
) -> AsyncIterator[UnitOfWork]:
    """Run a block in one transaction for ``user_id``; commit on success, roll back on any error."""
    async with sessionmaker() as session, session.begin():
        await act_as(session, user_id, actor, writing=True)
        uow = UnitOfWork(session=session, user_id=user_id)
        yield uow
    for callback in uow.after_commit:
        await callback()


@asynccontextmanager
async def read_session(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID | None
) -> AsyncIterator[AsyncSession]:
    """A short transaction for one dataloader batch or one lookup; without a user it sees no user's rows."""
    async with sessionmaker() as session, session.begin():
        if user_id is not None:
            await act_as(session, user_id)
        yield session


async def fill_pool(engine: AsyncEngine, size: int, within: float = 5.0) -> None:
    """Open the pool's connections now rather than in the first burst that needs them all at once, where
    each connect and driver set-up (a few round trips) lands on the requests waiting for it. Best effort:
    a database away now is met again on the first checkout, and one that does not answer holds start-up for
    ``within`` seconds at most."""
    async with AsyncExitStack() as stack:  # all held at once, so that each is a connection of its own
        opening = [stack.enter_async_context(engine.connect()) for _ in range(size)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*opening, return_exceptions=True), within)
