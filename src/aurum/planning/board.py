"""Placing blocks one at a time, as early as they fit: the greedy solver, the hint it gives CP-SAT and the
earliest finish of an at-risk task all place blocks through this one board, so they obey the same rules."""

from __future__ import annotations

from aurum.planning.timeline import Segment, Timeline, starts_that_fit, subtract


class Board:
    """Free and peak time left, and the capacity left per day. A placed block takes its slots and the break
    after and before it, so the next block lands at least a break away."""

    def __init__(self, timeline: Timeline, capacities: list[int], break_slots: int) -> None:
        self.free: list[Segment] = list(timeline.free)
        self.peak: list[Segment] = list(timeline.peak)
        self.left = list(capacities)
        self.break_slots = break_slots

    def _first(
        self, segments: list[Segment], size: int, low: int, high: int | None
    ) -> tuple[int, int] | None:
        for candidate in starts_that_fit(segments, size, low, high):
            if self.left[candidate.day] >= size:
                return candidate.start, candidate.day
        return None

    def find(self, size: int, low: int, high: int | None, deep: bool) -> tuple[int, int] | None:
        """The earliest (start, day) for a block; deep work takes a peak start unless that waits past the
        next day."""
        anywhere = self._first(self.free, size, low, high)
        if not deep or anywhere is None:
            return anywhere
        peak = self._first(self.peak, size, low, high)
        if peak is not None and peak[1] <= anywhere[1] + 1:
            return peak
        return anywhere

    def fits_at(self, start: int, size: int) -> int | None:
        """The day of a block at exactly `start`, if it fits there."""
        found = self._first(self.free, size, start, start + size)
        return found[1] if found is not None and found[0] == start else None

    def take(self, start: int, size: int, day: int) -> None:
        low, high = start - self.break_slots, start + size + self.break_slots
        self.free = subtract(self.free, low, high)
        self.peak = subtract(self.peak, low, high)
        self.left[day] -= size
