"""Words several parts of the HRM use about the same fact, kept in one place so that one `today` item, one
insight and its evidence never tell the same fact two ways."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from aurum.hrm.facts import PillarFacts, Snapshot, TaskFacts
from aurum.task.rules import due_moment


def due_at(snapshot: Snapshot, task: TaskFacts) -> datetime | None:
    return due_moment(task.due_date, task.due_time, snapshot.zone) if task.due_date else None


def overdue_by(snapshot: Snapshot, task: TaskFacts) -> timedelta | None:
    due = due_at(snapshot, task)
    return snapshot.now - due if due is not None and due < snapshot.now else None


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def lateness(snapshot: Snapshot, task: TaskFacts) -> str | None:
    """How late an open task is ('2 days', '5 hours', 'under an hour'), None when it is not overdue. A task
    due on a day without a time is late by calendar days in the person's time zone (due yesterday: 1 day);
    one due at a time by whole hours, then whole days (never rounded up)."""
    late = overdue_by(snapshot, task)
    if late is None or task.due_date is None:
        return None
    if task.due_time is None:
        return _plural(max(1, (snapshot.local_now.date() - task.due_date).days), "day")
    hours = late.total_seconds() / 3600
    if hours < 1:
        return "under an hour"
    if hours < 24:
        return _plural(math.floor(hours), "hour")
    return _plural(math.floor(hours / 24), "day")


def allocation(snapshot: Snapshot, pillar: PillarFacts) -> str:
    """'a 30% time allocation', with its share of all the allocations when that differs (they need not add
    up to 100%): 'a 30% time allocation (50% of all your pillars' allocations)'."""
    if not pillar.time_allocation:
        return "no time allocation"
    planned = snapshot.planned_share(pillar.id)
    said = f"a {pillar.time_allocation}% time allocation"
    if round(planned * 100) == pillar.time_allocation:
        return said
    return f"{said} ({planned:.0%} of all your pillars' allocations)"
