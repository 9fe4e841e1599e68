"""Busy time from iCalendar text (RFC 5545): pure functions over ``icalendar`` and ``recurring-ical-events``.

An event is busy time unless it is marked free (``TRANSP:TRANSPARENT``) or cancelled. Recurring series are
expanded with their exceptions (``RDATE``, ``EXDATE``, moved occurrences by ``RECURRENCE-ID``). A time
with a zone keeps it; a floating time (no zone) and an all-day date are the person's local time, so an
all-day event is busy from their midnight to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

MAX_EVENTS_EXPANDED = 5_000  # occurrences read per calendar and request: a minute-by-minute series stops here


class CalendarUnreadable(ValueError):
    """The text is not an iCalendar a person could mean; the message says why in one line."""


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    summary: str


@dataclass(frozen=True)
class Summary:
    """What a calendar holds, to show the person what was understood."""

    name: str | None
    events: int  # VEVENTs in the file (a recurring series counts once)
    recurring: int


def parse(content: bytes) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except (ValueError, KeyError, IndexError) as error:
        raise CalendarUnreadable(f"this is not an iCalendar file ({_first_line(error)})") from error
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarUnreadable("this is not an iCalendar file (no VCALENDAR)")
    return calendar


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:120] if text else type(error).__name__


def summarise(calendar: icalendar.Calendar) -> Summary:
    events = list(calendar.walk("VEVENT"))
    name = calendar.get("X-WR-CALNAME")
    return Summary(
        name=str(name) if name else None,
        events=len(events),
        recurring=sum(1 for e in events if e.get("RRULE") is not None and e.get("RECURRENCE-ID") is None),
    )


def _moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(), zone)


def _is_busy(event: Any) -> bool:
    transparency = str(event.get("TRANSP", "OPAQUE")).upper()
    status = str(event.get("STATUS", "CONFIRMED")).upper()
    return transparency != "TRANSPARENT" and status != "CANCELLED"


def _span(event: Any, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    start = event.get("DTSTART")
    if start is None:
        return None
    begins = _moment(start.dt, zone)
    end = event.get("DTEND")
    if end is not None:
        ends = _moment(end.dt, zone)
    elif event.get("DURATION") is not None:
        ends = begins + event["DURATION"].dt
    else:  # RFC 5545: a date alone lasts the day, a date-time alone is an instant
        ends = begins + (timedelta(days=1) if not isinstance(start.dt, datetime) else timedelta())
    return (begins, ends) if ends > begins else None


def busy_between(
    calendar: icalendar.Calendar, start: datetime, end: datetime, zone: ZoneInfo
) -> Iterator[Busy]:
    """The calendar's busy time overlapping [start, end), each occurrence clipped to it."""
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    # Floating and all-day events are local: widen by a day each side so none is missed, then clip.
    found = query.between(start - timedelta(days=1), end + timedelta(days=1))
    for count, event in enumerate(found):
        if count >= MAX_EVENTS_EXPANDED:
            return
        if not _is_busy(event):
            continue
        span = _span(event, zone)
        if span is None or span[1] <= start or span[0] >= end:
            continue
        yield Busy(max(span[0], start), min(span[1], end), str(event.get("SUMMARY", "")))


def merged(spans: Iterable[Busy]) -> list[tuple[datetime, datetime]]:
    """Busy time as disjoint intervals, overlapping events counted once."""
    out: list[tuple[datetime, datetime]] = []
    for low, high in sorted((b.start, b.end) for b in spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out
