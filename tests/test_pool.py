"""The database pool is opened whole when the app starts, not by the first burst of requests."""

from __future__ import annotations

from sqlalchemy.pool import QueuePool

from aurum.resources import Resources


async def test_the_app_starts_with_its_pool_open(server_url: str, resources: Resources) -> None:
    pool = resources.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedin() + pool.checkedout() == resources.settings.db_pool_size
