"""A PostgreSQL of a test's own (embedded, in a temporary directory) that the test may stop, restart and
disturb: the suite's shared database is never touched."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pgserver._commands import pg_ctl

from aurum.embedded import start_postgres, stop_postgres
from tests.support import wait_for


class StoppablePostgres:
    def __init__(self, directory: Path, database: str) -> None:
        self.directory = directory
        self.database = database
        self.server: Any = None
        self.url = ""
        self.running = False

    async def start(self) -> None:
        self.server, self.url = await asyncio.to_thread(start_postgres, self.directory, self.database)
        self.running = True

    async def stop(self) -> None:
        """A fast shutdown (PostgreSQL's default): every backend is told 57P01 and the socket goes away."""
        await asyncio.to_thread(stop_postgres, self.server)
        self.running = False

    async def begin_smart_shutdown(self) -> None:
        """Shut down once the last session ends; meanwhile new connections are refused with 57P03."""
        await asyncio.to_thread(
            pg_ctl, ["-m", "smart", "-W", "stop"], pgdata=self.directory, user=self.server.system_user
        )

    async def finish_smart_shutdown(self) -> None:
        """Once the last session has ended: wait for the server to be gone, then let go of it."""
        await wait_for(lambda: not (self.directory / "postmaster.pid").exists(), "PostgreSQL to shut down")
        await self.stop()

    @property
    def socket_directory(self) -> str:
        return str(self.directory.resolve())
