"""The private ICS feed: a person's due dates (and, once kept with planCommit, their planned blocks) as an
iCalendar that Google, Apple and Outlook calendars subscribe to by URL.

Feeds are created and revoked here; the token is shown once, in the URL, and kept as its SHA-256. Due
markers are free time (``TRANSP:TRANSPARENT``), so a subscribing calendar does not count them as busy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.auth.tokens import digest, new_secret
from aurum.calendar.model import CalendarFeed
from aurum.crud import get_owned
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput

FEED_PREFIX = "acf_"
MAX_ACTIVE_FEEDS = 5
TIMED_DUE_MARKER = timedelta(minutes=15)
PRODUCT = "-//Aurum Life//Plan and due dates//EN"


@dataclass(frozen=True)
class DueItem:
    task_id: uuid.UUID
    name: str
    project: str
    due_date: date
    due_time: time | None
    updated_at: datetime


@dataclass(frozen=True)
class BlockItem:
    task_id: uuid.UUID
    name: str
    project: str
    start: datetime
    end: datetime
    updated_at: datetime


def feed_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/calendar/{token}.ics"


async def create_feed(uow: UnitOfWork) -> tuple[CalendarFeed, str]:
    active = await uow.session.scalar(
        select(func.count())
        .select_from(CalendarFeed)
        .where(CalendarFeed.user_id == uow.user_id, CalendarFeed.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_FEEDS:
        raise InvalidInput(f"You have {MAX_ACTIVE_FEEDS} calendar feeds: revoke one first", ["input"])
    token = new_secret(FEED_PREFIX)
    feed = CalendarFeed(user_id=uow.user_id, token_hash=digest(token), prefix=token[: len(FEED_PREFIX) + 6])
    uow.session.add(feed)
    await uow.session.flush()
    await uow.session.refresh(feed)
    return feed, token


async def revoke_feed(uow: UnitOfWork, feed_id: uuid.UUID) -> CalendarFeed:
    feed = await get_owned(uow.session, CalendarFeed, feed_id, uow.user_id, ["input", "id"], for_update=True)
    if feed.revoked_at is None:
        feed.revoked_at = feed.updated_at = datetime.now(UTC)
        feed.version += 1
    return feed


async def feeds_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[CalendarFeed]:
    statement = (
        select(CalendarFeed)
        .where(CalendarFeed.user_id == user_id)
        .order_by(CalendarFeed.created_at.desc(), CalendarFeed.id)
    )
    return (await session.scalars(statement)).all()


def _event(uid: str, summary: str, description: str, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("summary", summary)
    event.add("description", description)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("last-modified", stamp.astimezone(UTC))
    return event


def due_event(item: DueItem, zone: ZoneInfo) -> icalendar.Event:
    event = _event(f"due-{item.task_id}@aurum.life", f"Due: {item.name}", item.project, item.updated_at)
    if item.due_time is None:
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
    else:
        due = datetime.combine(item.due_date, item.due_time, zone).astimezone(UTC)
        event.add("dtstart", due - TIMED_DUE_MARKER)
        event.add("dtend", due)
    event.add("transp", "TRANSPARENT")
    return event


def block_event(item: BlockItem, index: int) -> icalendar.Event:
    event = _event(f"block-{item.task_id}-{index}@aurum.life", item.name, item.project, item.updated_at)
    event.add("dtstart", item.start.astimezone(UTC))
    event.add("dtend", item.end.astimezone(UTC))
    event.add("transp", "OPAQUE")
    return event


def render(name: str, zone: ZoneInfo, due: Iterable[DueItem], blocks: Iterable[BlockItem] = ()) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in due:
        calendar.add_component(due_event(item, zone))
    for index, block in enumerate(blocks):
        calendar.add_component(block_event(block, index))
    return bytes(calendar.to_ical())
