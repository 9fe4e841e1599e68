"""The plan's time as integer slots: work windows, free time and peak time as sorted slot segments.

Both solvers place blocks on the same 5-minute grid counted from the first day's local midnight, in
absolute time: a daylight-saving change moves the local work hours on the grid, never the grid. Busy time
is widened to whole slots so a block can never touch it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aurum.planning.model import EnergyPattern, WorkTime

SLOT_MINUTES = 5
SLOT = timedelta(minutes=SLOT_MINUTES)
LOOKAHEAD_DAYS = 28  # how far past the horizon an earliest finish is looked for


@dataclass(frozen=True)
class Segment:
    start: int
    end: int  # exclusive
    day: int  # index of the local date whose work window holds it


@dataclass(frozen=True)
class Window:
    day: int
    date: date
    start: datetime
    end: datetime


def work_windows(first: date, days: int, work: WorkTime, zone: ZoneInfo) -> Iterator[Window]:
    """The work windows of `days` local dates from `first` (none on days off), as aware moments."""
    for index in range(days):
        day = first + timedelta(days=index)
        if day.weekday() not in work.weekdays:
            continue
        start = datetime.combine(day, work.start, zone)
        closes_on = day if work.end > work.start else day + timedelta(days=1)
        end = datetime.combine(closes_on, work.end, zone)
        if end > start:
            yield Window(index, day, start, end)


def work_minutes_between(start: datetime, end: datetime, work: WorkTime, zone: ZoneInfo) -> int:
    """Minutes of work time (work hours on work days, busy or not) in [start, end)."""
    if end <= start:
        return 0
    first = start.astimezone(zone).date() - timedelta(days=1)  # a night shift opened the day before
    days = (end.astimezone(zone).date() - first).days + 1
    total = timedelta()
    for window in work_windows(first, days, work, zone):
        overlap = min(end, window.end) - max(start, window.start)
        total += max(overlap, timedelta())
    return int(total.total_seconds() // 60)


def subtract(segments: list[Segment], start: int, end: int) -> list[Segment]:
    """`segments` without [start, end)."""
    kept: list[Segment] = []
    for segment in segments:
        if segment.end <= start or segment.start >= end:
            kept.append(segment)
            continue
        if segment.start < start:
            kept.append(Segment(segment.start, start, segment.day))
        if segment.end > end:
            kept.append(Segment(end, segment.end, segment.day))
    return kept


def intersect(segments: Iterable[Segment], ranges: list[tuple[int, int]]) -> list[Segment]:
    """The parts of `segments` inside any of `ranges` (sorted, disjoint)."""
    parts: list[Segment] = []
    for segment in segments:
        for low, high in ranges:
            start, end = max(segment.start, low), min(segment.end, high)
            if start < end:
                parts.append(Segment(start, end, segment.day))
    return sorted(parts, key=lambda part: part.start)


class Timeline:
    """The horizon on the slot grid: where work may go (`free`), and where it is at its best (`peak`)."""

    def __init__(
        self,
        first: date,
        days: int,
        zone: ZoneInfo,
        work: WorkTime,
        energy: EnergyPattern,
        busy: Iterable[tuple[datetime, datetime]],
        earliest: datetime | None = None,
    ) -> None:
        self.first, self.days, self.zone, self.work = first, days, zone, work
        self.origin = datetime.combine(first, time(), zone).astimezone(UTC)
        self.windows = list(work_windows(first, days, work, zone))
        self.busy = sorted((self.floor(a), self.ceil(b)) for a, b in busy if b > a)
        free = [Segment(self.ceil(w.start), self.floor(w.end), w.day) for w in self.windows]
        for low, high in self.busy:
            free = subtract(free, low, high)
        if earliest is not None:
            free = subtract(free, -(10**9), self.ceil(earliest))
        self.free = [segment for segment in free if segment.end > segment.start]
        self.peak = intersect(self.free, self._peak_ranges(energy))
        last_window = max((self.floor(w.end) for w in self.windows), default=0)
        self.end = max(last_window, self.floor(datetime.combine(first + timedelta(days=days), time(), zone)))

    def _peak_ranges(self, energy: EnergyPattern) -> list[tuple[int, int]]:
        hours = energy.peak_hours()
        if hours is None:
            return [(segment.start, segment.end) for segment in self.free]  # steady: all work time is peak
        ranges = []
        for index in range(-1, self.days + 1):
            day = self.first + timedelta(days=index)
            low = self.ceil(datetime.combine(day, hours[0], self.zone))
            ranges.append((low, self.floor(datetime.combine(day, hours[1], self.zone))))
        return ranges

    def floor(self, moment: datetime) -> int:
        return math.floor((moment - self.origin) / SLOT)

    def ceil(self, moment: datetime) -> int:
        return math.ceil((moment - self.origin) / SLOT)

    def moment(self, slot: int) -> datetime:
        return (self.origin + slot * SLOT).astimezone(self.zone)

    def day_of(self, slot: int) -> int | None:
        """The day whose work window holds `slot` (a block's start)."""
        for window in self.windows:
            if self.ceil(window.start) <= slot < self.floor(window.end):
                return window.day
        return None

    def capacities(self, daily_minutes: int | None) -> list[int]:
        """Slots each day may take: the daily capacity, at most the day's work time, 0 on days off."""
        slots = [0] * self.days
        for window in self.windows:
            length = self.floor(window.end) - self.ceil(window.start)
            cap = length if daily_minutes is None else min(length, daily_minutes // SLOT_MINUTES)
            slots[window.day] = max(0, cap)
        return slots


def starts_that_fit(segments: list[Segment], size: int, low: int, high: int | None) -> list[Segment]:
    """For a block of `size` slots starting at or after `low` and ending by `high`: the ranges of starts
    (as segments [first, last + 1)) that keep it inside one segment."""
    ranges: list[Segment] = []
    begin = bisect.bisect_right([s.end for s in segments], low)
    for segment in segments[begin:]:
        if high is not None and segment.start >= high:
            break
        first = max(segment.start, low)
        last = segment.end - size if high is None else min(segment.end, high) - size
        if first <= last:
            ranges.append(Segment(first, last + 1, segment.day))
    return ranges
