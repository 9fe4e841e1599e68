"""The job that reads subscribed calendars again: every ten minutes, those last read over an hour ago."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, select

from aurum.calendar import service
from aurum.db import read_session, unit_of_work
from aurum.errors import DomainError, InvalidInput
from aurum.resources import Resources

log = structlog.get_logger(__name__)
BATCH = 50


async def refresh_calendars(ctx: dict[str, Any]) -> int:
    """Refresh the subscriptions that are due; a failing one keeps its last good events and says why."""
    resources: Resources = ctx["resources"]
    before = datetime.now(UTC) - service.REFRESH_EVERY
    async with resources.sessionmaker() as session, session.begin():
        due = (
            await session.execute(
                select(func.aurum_calendars_due(before, BATCH).table_valued("user_id", "calendar_id"))
            )
        ).all()
    development = resources.settings.is_development
    for row in due:
        try:
            async with read_session(resources.sessionmaker, row.user_id) as session:
                url = await service.subscription_url(session, row.user_id, row.calendar_id)
        except DomainError:  # removed meanwhile
            continue
        try:
            found: service.Downloaded | InvalidInput = await service.download(url, development)
        except InvalidInput as error:
            found = error
        async with unit_of_work(resources.sessionmaker, row.user_id) as uow:
            calendar = await service.refreshed(uow, row.calendar_id, found)
        log.info("calendar refreshed", calendar_id=str(row.calendar_id), error=calendar.refresh_error)
    return len(due)
