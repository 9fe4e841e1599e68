"""SQL statements per request, as PostgreSQL itself sees them.

pgserver ships no contrib (no pg_stat_statements), so the count comes from PostgreSQL's statement log: a
login role of the bench's own, ``aurum_bench_log`` (a superuser like the owner the servers normally log in
as, switching to ``aurum_app`` as they do), has ``log_statement = 'all'`` set on it, and only sessions of that
role log. Each arm gets a second server of its own logging in as that role, used for counting only (the
measured servers log nothing, so logging costs none of their figures). A request's statements are the lines
the log gains between two marker statements sent around it; every statement counts (the protocol's
BEGIN/COMMIT too, shown apart), whatever the driver (SQLAlchemy, raw asyncpg, node-postgres).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

LOG_ROLE = "aurum_bench_log"
CREATE_LOG_ROLE = (
    f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{LOG_ROLE}') THEN
    CREATE ROLE {LOG_ROLE} LOGIN SUPERUSER;
  END IF;
END $$""",
    f"ALTER ROLE {LOG_ROLE} SET log_statement = 'all'",
)
STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)")
CONTROL = re.compile(r"^\s*(begin|commit|rollback|start transaction|end)\b", re.IGNORECASE)
MARK = "aurum-bench-mark"


def as_log_role(database_url: str) -> str:
    """The same database, logged in as the logging role (``postgres://owner@/db?host=…``)."""
    scheme, rest = database_url.split("://", 1)
    return f"{scheme}://{LOG_ROLE}@{rest.split('@', 1)[1]}"


@dataclass(frozen=True)
class Count:
    statements: int  # all of them, transaction control included
    control: int  # BEGIN / COMMIT / ROLLBACK
    texts: tuple[str, ...] = ()  # the first line of each

    def __str__(self) -> str:
        return f"{self.statements} ({self.control} BEGIN/COMMIT)"


def statements_between(log: str, first: str, last: str) -> list[str] | None:
    """The first line of each statement logged after marker ``first`` and before marker ``last`` (``None``
    while ``last`` is not in the log yet); the markers' own lines are not counted."""
    start, end = log.find(f"'{first}'"), log.find(f"'{last}'")
    if start < 0 or end < start:
        return None
    between = log[log.find("\n", start) + 1 : log.rfind("\n", start, end) + 1]
    return [m.group(1) for m in STATEMENT.finditer(between)]


def count_of(lines: list[str]) -> Count:
    return Count(len(lines), sum(1 for line in lines if CONTROL.match(line)), tuple(lines))


class StatementLog:
    """The PostgreSQL log of the bench's cluster, read between markers."""

    def __init__(self, path: Path, marker: asyncpg.Connection) -> None:
        self.path, self.marker = path, marker
        self.marks = 0

    async def _mark(self) -> str:
        self.marks += 1
        text = f"{MARK} {self.marks}"
        await self.marker.execute(f"SELECT '{text}'")
        return text

    async def _between(self, first: str, last: str) -> list[str]:
        deadline = time.monotonic() + 30
        while True:
            found = statements_between(self.path.read_text(errors="replace"), first, last)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"markers {first!r}, {last!r} never reached {self.path}")
            await asyncio.sleep(0.02)

    async def _quiet(self, seconds: float = 0.15) -> None:
        """Until the log has not grown for ``seconds``: what a request leaves to do after its answer (a
        write's announcement) is its work too."""
        size, still = self.path.stat().st_size, time.monotonic()
        deadline = still + 5
        while time.monotonic() - still < seconds and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            now = self.path.stat().st_size
            if now != size:
                size, still = now, time.monotonic()

    async def count(self, request: Callable[[], Awaitable[object]]) -> Count:
        first = await self._mark()
        await request()
        await self._quiet()
        last = await self._mark()
        return count_of(await self._between(first, last))


async def counts(
    log: StatementLog, request: Callable[[], Awaitable[object]], warm: int, times: int
) -> list[Count]:
    """``times`` counts of one request, after ``warm`` uncounted ones (caches of statements, types)."""
    for _ in range(warm):
        await request()
    return [await log.count(request) for _ in range(times)]
