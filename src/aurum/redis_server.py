"""Which Redis server this process's connections reach, learned each time one of them (re)connects.

A Redis started again from its files, or a replica promoted in its place, may lack the last writes made to
the one before it. Its ``run_id`` is new at every start, so a cache kept in Redis that records the ``run_id``
it was built for can tell it must be built again (``aurum.auth.revocation`` does).
"""

from __future__ import annotations

import structlog
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

log = structlog.get_logger(__name__)

# A Redis that refuses INFO (some managed services restrict it) gives no run_id: caches then rebuild only when
# their marker is missing, as after a restart with no data.
UNKNOWN = "unknown"


class RedisServer:
    def __init__(self) -> None:
        self.run_id: str | None = None  # None until a first connection

    async def on_connect(self, connection: AbstractConnection) -> None:
        """redis-py's ``redis_connect_func``: set the connection up as usual, then ask whom it reached."""
        await connection.on_connect()
        try:
            await connection.send_command("INFO", "server")
            reply = await connection.read_response()
        except ResponseError as error:
            if self.run_id != UNKNOWN:
                log.warning("redis refuses INFO: restarts are told by missing markers only", error=str(error))
            self.run_id = UNKNOWN
            return
        run_id = _run_id(reply)
        if run_id != self.run_id:
            if self.run_id is not None:
                log.info("redis server changed", run_id=run_id, before=self.run_id)
            self.run_id = run_id


def _run_id(info: object) -> str:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "run_id" and value.strip():
            return value.strip()
    return UNKNOWN
