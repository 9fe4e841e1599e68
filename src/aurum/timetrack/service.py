"""Timers and manual entries: start (stopping any other timer), stop, record by hand, delete; time spent."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.crud import get_owned
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.task.model import CLOSED_STATUSES, Task
from aurum.timetrack.model import MAX_ENTRY_HOURS, TimeEntry

LONGEST = timedelta(hours=MAX_ENTRY_HOURS)
FUTURE_SLACK = timedelta(minutes=1)  # clocks differ a little


async def _open_task(uow: UnitOfWork, task_id: uuid.UUID, field: list[str]) -> Task:
    task = await get_owned(uow.session, Task, task_id, uow.user_id, field)
    if task.status in CLOSED_STATUSES:
        raise InvalidInput("Time is tracked on open tasks: reopen it first", field)
    return task


async def running(session: AsyncSession, user_id: uuid.UUID) -> TimeEntry | None:
    found: TimeEntry | None = await session.scalar(
        select(TimeEntry).where(TimeEntry.user_id == user_id, TimeEntry.ended_at.is_(None))
    )
    return found


def _close(entry: TimeEntry, now: datetime) -> None:
    """End a timer now; one left running past a day is ended a day after it started."""
    entry.ended_at = min(now, entry.started_at + LONGEST)
    if entry.ended_at <= entry.started_at:
        entry.ended_at = entry.started_at + timedelta(seconds=1)
    entry.version += 1
    entry.updated_at = now


async def start(uow: UnitOfWork, task_id: uuid.UUID) -> TimeEntry:
    """Start a timer on the task; a timer running on another task stops now (one at a time). Starting the
    timer already running on this task changes nothing."""
    await _open_task(uow, task_id, ["input", "taskId"])
    now = datetime.now(UTC)
    current = await running(uow.session, uow.user_id)
    if current is not None and current.task_id == task_id:
        return current
    if current is not None:
        _close(current, now)
        await uow.session.flush()
    entry = TimeEntry(user_id=uow.user_id, task_id=task_id, started_at=now, source="timer")
    uow.session.add(entry)
    await uow.session.flush()
    await uow.session.refresh(entry)
    return entry


async def stop(uow: UnitOfWork, task_id: uuid.UUID) -> TimeEntry:
    current = await running(uow.session, uow.user_id)
    if current is None or current.task_id != task_id:
        raise NotFound("No timer is running on this task", ["input", "taskId"])
    _close(current, datetime.now(UTC))
    return current


async def record(uow: UnitOfWork, task_id: uuid.UUID, started: datetime, ended: datetime) -> TimeEntry:
    """Time spent, told afterwards: it must have ended, last at most a day and not overlap other entries."""
    await get_owned(uow.session, Task, task_id, uow.user_id, ["input", "taskId"])
    if started.tzinfo is None or ended.tzinfo is None:
        raise InvalidInput("Give times with their UTC offset", ["input", "start"])
    if ended <= started:
        raise InvalidInput("The end must come after the start", ["input", "end"])
    if ended - started > LONGEST:
        raise InvalidInput(f"An entry lasts at most {MAX_ENTRY_HOURS} hours", ["input", "end"])
    if ended > datetime.now(UTC) + FUTURE_SLACK:
        raise InvalidInput("Time is recorded once it is spent: the end is in the future", ["input", "end"])
    overlapping = await uow.session.scalar(
        select(func.count())
        .select_from(TimeEntry)
        .where(
            TimeEntry.user_id == uow.user_id,
            TimeEntry.started_at < ended,
            func.coalesce(TimeEntry.ended_at, func.now()) > started,
        )
    )
    if overlapping:
        raise InvalidInput("This overlaps time you already tracked", ["input", "start"])
    entry = TimeEntry(
        user_id=uow.user_id, task_id=task_id, started_at=started, ended_at=ended, source="manual"
    )
    uow.session.add(entry)
    await uow.session.flush()
    await uow.session.refresh(entry)
    return entry


async def delete(uow: UnitOfWork, entry_id: uuid.UUID) -> uuid.UUID:
    entry = await get_owned(uow.session, TimeEntry, entry_id, uow.user_id, ["input", "id"], for_update=True)
    await uow.session.delete(entry)
    return entry_id


async def minutes_spent(session: AsyncSession, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Per task, the minutes tracked (a running timer counts to now)."""
    spent = func.sum(
        func.extract("epoch", func.coalesce(TimeEntry.ended_at, func.now()) - TimeEntry.started_at)
    )
    rows = await session.execute(
        select(TimeEntry.task_id, spent.label("seconds"))
        .where(TimeEntry.task_id.in_(list(ids)))
        .group_by(TimeEntry.task_id)
    )
    return {row.task_id: int(float(row.seconds) // 60) for row in rows}


async def entries_of(session: AsyncSession, task_id: uuid.UUID, limit: int) -> Sequence[TimeEntry]:
    statement = (
        select(TimeEntry)
        .where(TimeEntry.task_id == task_id)
        .order_by(TimeEntry.started_at.desc(), TimeEntry.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def log_of(
    session: AsyncSession, user_id: uuid.UUID, since: datetime | None, until: datetime | None, limit: int
) -> Sequence[TimeEntry]:
    """The person's entries overlapping [since, until), newest first."""
    statement = select(TimeEntry).where(TimeEntry.user_id == user_id)
    if since is not None:
        statement = statement.where(func.coalesce(TimeEntry.ended_at, func.now()) > since)
    if until is not None:
        statement = statement.where(TimeEntry.started_at < until)
    statement = statement.order_by(TimeEntry.started_at.desc(), TimeEntry.id).limit(limit)
    return (await session.scalars(statement)).all()
