"""``GET /calendar/<token>.ics``: the private feed, read by calendar apps that know only its URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from aurum.area.model import Area
from aurum.auth.model import User
from aurum.auth.tokens import digest
from aurum.calendar.feed import FEED_PREFIX, DueItem, render
from aurum.db import read_session
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.resources import Resources
from aurum.task.model import CLOSED_STATUSES, Task

PAST_DAYS, AHEAD_DAYS, MAX_ITEMS = 60, 400, 2_000
GONE = Response(
    "No calendar here: the address is wrong or the feed was revoked.\n", 404, media_type="text/plain"
)


async def feed_owner(resources: Resources, token: str) -> uuid.UUID | None:
    if not token.startswith(FEED_PREFIX) or len(token) > 100:
        return None
    async with resources.sessionmaker() as session, session.begin():
        found = (
            await session.execute(
                select(func.aurum_calendar_feed(digest(token)).table_valued("user_id", "feed_id"))
            )
        ).first()
    return None if found is None else found.user_id


async def due_items(session: AsyncSession, user_id: uuid.UUID, zone: ZoneInfo) -> list[DueItem]:
    today = datetime.now(zone).date()
    statement = (
        select(
            Task.id, Task.name, Project.name.label("project"), Task.due_date, Task.due_time, Task.updated_at
        )
        .join(Project, Project.id == Task.project_id)
        .join(Area, Area.id == Project.area_id)
        .join(Pillar, Pillar.id == Area.pillar_id)
        .where(
            Task.user_id == user_id,
            Task.status.not_in(CLOSED_STATUSES),
            Task.due_date.between(today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS)),
            ~(Project.archived | Area.archived | Pillar.archived),
        )
        .order_by(Task.due_date, Task.id)
        .limit(MAX_ITEMS)
    )
    rows = (await session.execute(statement)).all()
    return [DueItem(r.id, r.name, r.project, r.due_date, r.due_time, r.updated_at) for r in rows]


async def calendar_feed(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    user_id = await feed_owner(resources, request.path_params["token"])
    if user_id is None:
        return GONE
    async with read_session(resources.sessionmaker, user_id) as session:
        user = (
            await session.execute(select(User.display_name, User.timezone).where(User.id == user_id))
        ).one()
        zone = ZoneInfo(user.timezone)
        body = render(f"Aurum Life: {user.display_name}", zone, await due_items(session, user_id, zone))
    headers = {
        "cache-control": "private, max-age=300",
        "content-disposition": 'inline; filename="aurum-life.ics"',
        "last-modified": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)
