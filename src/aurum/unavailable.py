"""Telling "a dependency is down" apart from every other failure.

While PostgreSQL (or Redis) cannot be reached, a request fails through no fault of its own and would succeed
later: clients get ``SERVICE_UNAVAILABLE`` (HTTP 503 with ``Retry-After``) instead of a masked internal error.
Only failures that mean exactly that count: a lost or refused connection, a server shutting down, starting
up or out of connection slots, a pool with no connection to give. A constraint violation, a syntax error or a
cancelled statement is a bug or a conflict, whatever class SQLAlchemy wraps it in.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import redis.exceptions
import sqlalchemy.exc
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = structlog.get_logger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
RETRY_AFTER_SECONDS = 5
"""What ``Retry-After`` says. A PostgreSQL restart or a managed failover takes seconds to half a minute, and
the pool replaces its dead connections at the first checkout once the server is back: five seconds adds at
most that much to a client's wait, while a client that obeys it costs one cheap refusal per five seconds."""
RETRY_AFTER = {"retry-after": str(RETRY_AFTER_SECONDS)}
MESSAGE = "The service is unavailable for a moment (a database it needs cannot be reached): try again shortly"

UNAVAILABLE_SQLSTATES = frozenset(
    {
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist (asyncpg: closed in the middle of an operation)
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
        "08007",  # transaction_resolution_unknown (the connection died during COMMIT)
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown (a fast shutdown, pg_terminate_backend)
        "57P02",  # crash_shutdown (another backend crashed: every backend is reset)
        "57P03",  # cannot_connect_now (starting up, shutting down, in recovery)
        "57P05",  # idle_session_timeout
    }
)
"""SQLSTATEs that mean the server is away or refuses connections for now. Left out on purpose: 08P01
(protocol violation: a bug), 57014 (a cancelled statement: a timeout of ours), 57P04 (the database was
dropped: nothing to wait for)."""


class DatabaseUnreachable(ConnectionError):
    """Connecting to PostgreSQL failed at the socket (refused, no such socket file, timed out, no route).

    asyncpg raises a bare ``OSError`` then, which would be indistinguishable from a storage failure; the
    engine's connect hook (``aurum.db``) raises this instead, from it."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means that PostgreSQL or Redis cannot serve us right now."""
    return any(_means_unavailable(cause) for cause in _causes(error))


def _means_unavailable(error: BaseException) -> bool:
    if isinstance(
        error,
        DatabaseUnreachable
        | sqlalchemy.exc.TimeoutError  # the pool had no connection to give in time
        | redis.exceptions.ConnectionError
        | redis.exceptions.TimeoutError,
    ):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True  # SQLAlchemy found the connection lost under the statement
    if isinstance(error, asyncpg.PostgresError):
        return getattr(error, "sqlstate", None) in UNAVAILABLE_SQLSTATES
    # asyncpg's own word for a connection already lost, as SQLAlchemy's asyncpg dialect reads it too.
    return isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it explicitly wraps: SQLAlchemy's ``orig``, its adapter's cause, asyncpg's own.

    Only explicit causes: an error raised while another was being handled (``__context__``) is a failure
    of its own, not that one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig: Any = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def reason(error: BaseException) -> str:
    """What failed, in one short line for the logs: the first cause that is not one of SQLAlchemy's wrappers
    (their text carries the statement, and says less than the driver's)."""
    wrappers = sqlalchemy.exc.StatementError | sqlalchemy.exc.EmulatedDBAPIException
    told = next((c for c in _causes(error) if not isinstance(c, wrappers)), error)
    return f"{type(told).__name__}: {told}"[:300]


def answers_unavailable(endpoint: Endpoint) -> Endpoint:
    """A plain HTTP route that answers 503 (JSON, with ``Retry-After``) when a dependency is down."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as error:
            if not is_unavailable(error):
                raise
            request_id = request.scope.get("state", {}).get("request_id")
            log.warning(
                "dependency unavailable", request_id=request_id, path=request.url.path, reason=reason(error)
            )
            return JSONResponse(
                {"error": SERVICE_UNAVAILABLE, "message": MESSAGE},
                status_code=503,
                headers=RETRY_AFTER,
            )

    return guarded
