"""Calendars: add an uploaded file or a subscription, refresh, remove; the busy time of a person's days."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.calendar.busy import Busy, CalendarUnreadable, busy_between, parse, summarise
from aurum.calendar.model import MAX_CALENDAR_BYTES, Calendar
from aurum.crud import get_owned
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput
from aurum.outbound import OutboundRefused, fetch
from aurum.validation import Checks, text_length

MAX_CALENDARS = 20
ACCEPT = "text/calendar, application/ics;q=0.9, */*;q=0.1"
REFRESH_EVERY = timedelta(hours=1)


class Upload(Protocol):
    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def _decoded(content: bytes, field: list[str]) -> tuple[str, int, str | None]:
    """The text, its event count and the calendar's own name, or why it cannot be used."""
    if len(content) > MAX_CALENDAR_BYTES:
        raise InvalidInput(f"A calendar may be at most {MAX_CALENDAR_BYTES // (1024 * 1024)} MB", field)
    try:
        text = content.decode("utf-8-sig")
        summary = summarise(parse(content))
    except UnicodeDecodeError as error:
        raise InvalidInput("The calendar must be UTF-8 text (an .ics file)", field) from error
    except CalendarUnreadable as error:
        raise InvalidInput(f"The calendar cannot be read: {error}", field) from error
    if "\x00" in text:
        raise InvalidInput("The calendar must be text (an .ics file)", field)
    return text, summary.events, summary.name


def _name(given: str | None, found: str | None, fallback: str, field: list[str]) -> str:
    name = (given if given is not None else found or fallback).strip()[:100] or fallback
    checks = Checks()
    checks.run(lambda: text_length(name, field, 1, 100))
    checks.raise_any()
    return name


async def _room_for_one(uow: UnitOfWork) -> None:
    held = len(await calendars_of(uow.session, uow.user_id))
    if held >= MAX_CALENDARS:
        raise InvalidInput(f"You have {MAX_CALENDARS} calendars: remove one first", ["input"])


async def import_file(uow: UnitOfWork, upload: Upload, name: str | None) -> Calendar:
    content = await upload.read(MAX_CALENDAR_BYTES + 1)
    text, events, found = _decoded(content, ["input", "file"])
    await _room_for_one(uow)
    fallback = (upload.filename or "Calendar").removesuffix(".ics") or "Calendar"
    calendar = Calendar(
        user_id=uow.user_id,
        kind="upload",
        name=_name(name, found, fallback, ["input", "name"]),
        content=text,
        event_count=events,
        refreshed_at=datetime.now(UTC),
    )
    uow.session.add(calendar)
    await uow.session.flush()
    await uow.session.refresh(calendar)
    return calendar


@dataclass(frozen=True)
class Downloaded:
    url: str  # after redirects
    text: str
    events: int
    name: str | None


async def download(url: str, development: bool) -> Downloaded:
    """The calendar at ``url``, or an ``InvalidInput`` saying why not. Outside any transaction: it waits
    on somebody else's server."""
    field = ["input", "url"]
    if len(url) > 2000:
        raise InvalidInput("The address is longer than 2,000 characters", field)
    try:
        fetched = await fetch(url, development=development, max_bytes=MAX_CALENDAR_BYTES, accept=ACCEPT)
    except OutboundRefused as error:
        raise InvalidInput(f"The calendar cannot be read: {error}", field) from error
    text, events, name = _decoded(fetched.content, field)
    return Downloaded(fetched.url, text, events, name)


async def subscribe(uow: UnitOfWork, found: Downloaded, name: str | None) -> Calendar:
    """Keep a subscription to a calendar read once just now, so that a wrong address is said at once."""
    await _room_for_one(uow)
    calendar = Calendar(
        user_id=uow.user_id,
        kind="subscription",
        name=_name(name, found.name, "Subscribed calendar", ["input", "name"]),
        url=found.url,
        content=found.text,
        event_count=found.events,
        refreshed_at=datetime.now(UTC),
    )
    uow.session.add(calendar)
    await uow.session.flush()
    await uow.session.refresh(calendar)
    return calendar


async def subscription_url(session: AsyncSession, user_id: uuid.UUID, calendar_id: uuid.UUID) -> str:
    calendar = await get_owned(session, Calendar, calendar_id, user_id, ["input", "id"])
    if calendar.url is None:
        raise InvalidInput("An uploaded calendar has nothing to refresh: upload it again", ["input", "id"])
    return calendar.url


async def refreshed(uow: UnitOfWork, calendar_id: uuid.UUID, found: Downloaded | InvalidInput) -> Calendar:
    """A subscription after reading it again; a failure keeps the last good events and says why."""
    calendar = await get_owned(
        uow.session, Calendar, calendar_id, uow.user_id, ["input", "id"], for_update=True
    )
    now = datetime.now(UTC)
    if isinstance(found, InvalidInput):
        calendar.refresh_error, calendar.failures = str(found), calendar.failures + 1
    else:
        calendar.content, calendar.event_count = found.text, found.events
        calendar.refresh_error, calendar.failures = None, 0
    calendar.refreshed_at = now
    calendar.version += 1
    calendar.updated_at = now
    return calendar


async def remove(uow: UnitOfWork, calendar_id: uuid.UUID) -> uuid.UUID:
    calendar = await get_owned(
        uow.session, Calendar, calendar_id, uow.user_id, ["input", "id"], for_update=True
    )
    await uow.session.delete(calendar)
    return calendar_id


async def calendars_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Calendar]:
    statement = select(Calendar).where(Calendar.user_id == user_id).order_by(Calendar.created_at, Calendar.id)
    return (await session.scalars(statement)).all()


_PARSED: OrderedDict[tuple[uuid.UUID, int], icalendar.Calendar] = OrderedDict()
PARSED_KEPT = 64  # calendars kept parsed in this process, by id and version


async def _parsed(session: AsyncSession, user_id: uuid.UUID) -> list[icalendar.Calendar]:
    """The person's calendars, parsed; only those not parsed here before are read whole."""
    keys = (
        await session.execute(select(Calendar.id, Calendar.version).where(Calendar.user_id == user_id))
    ).all()
    missing = [row.id for row in keys if (row.id, row.version) not in _PARSED]
    if missing:
        statement = select(Calendar.id, Calendar.version, Calendar.content).where(Calendar.id.in_(missing))
        for row in (await session.execute(statement)).all():
            try:
                _PARSED[(row.id, row.version)] = parse(row.content.encode())
            except CalendarUnreadable:  # it was read when stored; a library upgrade may read it otherwise
                continue
            while len(_PARSED) > PARSED_KEPT:
                _PARSED.popitem(last=False)
    found = [_PARSED.get((row.id, row.version)) for row in keys]
    return [calendar for calendar in found if calendar is not None]


async def busy_time(
    session: AsyncSession, user_id: uuid.UUID, start: datetime, end: datetime, zone: ZoneInfo
) -> list[Busy]:
    """Every calendar's busy time overlapping [start, end)."""
    busy: list[Busy] = []
    for calendar in await _parsed(session, user_id):
        busy += busy_between(calendar, start, end, zone)
    return busy
