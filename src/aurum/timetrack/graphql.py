"""Time tracking over GraphQL: timeEntryStart / timeEntryStop / timeEntryCreate / timeEntryDelete, the
running timer, and ``Task.timeSpentMinutes`` and ``Task.timeEntries``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select
from strawberry import Info

from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import node_resolver
from aurum.graphql.types import DeletePayload, IdInput, Input, Node, UserError
from aurum.ids import decode_id, to_global_id
from aurum.timetrack import service
from aurum.timetrack.model import TimeEntry as TimeEntryModel

if TYPE_CHECKING:
    from aurum.task.graphql import Task

MAX_ENTRIES = 100


@strawberry.enum(description="How time was tracked.")
class TimeEntrySource(Enum):
    TIMER = "timer"
    MANUAL = "manual"


@strawberry.type(description="Time spent on a task.")
class TimeEntry(Node):
    task_uuid: strawberry.Private[uuid.UUID]
    started_at: datetime = strawberry.field(description="When the work started.")
    ended_at: datetime | None = strawberry.field(description="When it ended; null while the timer runs.")
    minutes: int = strawberry.field(description="Its length in whole minutes (a running timer: so far).")
    source: TimeEntrySource = strawberry.field(description="A timer or a manual entry.")
    version: int = strawberry.field(description="Increases with every change.")

    @strawberry.field(description="The task the time went to.")
    async def task(
        self, info: Info[Context, None]
    ) -> Annotated[Task, strawberry.lazy("aurum.task.graphql")] | None:
        from aurum.task.graphql import task_by_id

        return await task_by_id(info, self.task_uuid)

    @classmethod
    def from_row(cls, row: TimeEntryModel, now: datetime) -> TimeEntry:
        ends = row.ended_at or now
        return cls(
            id=strawberry.ID(to_global_id("TimeEntry", row.id)),
            task_uuid=row.task_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
            minutes=max(0, int((ends - row.started_at).total_seconds() // 60)),
            source=TimeEntrySource(row.source),
            version=row.version,
        )


def converted(row: TimeEntryModel | None) -> TimeEntry | None:
    return TimeEntry.from_row(row, datetime.now(UTC)) if row is not None else None


@strawberry.input(description="The task to start or stop the timer on.")
class TimeEntryTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")


@strawberry.input(description="Time spent, recorded afterwards.")
class TimeEntryCreateInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    start: datetime = strawberry.field(description="When the work started (with its UTC offset).")
    end: datetime = strawberry.field(description="When it ended: in the past, at most 24 hours later.")


@strawberry.type(description="The time entry after the change.")
class TimeEntryPayload:
    time_entry: TimeEntry | None = strawberry.field(description="The entry.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def time_spent(info: Info[Context, None], task_id: uuid.UUID) -> int:
    """The minutes tracked on the task; one batch for every task of the request."""
    ctx = info.context

    async def batch(ids: Sequence[uuid.UUID]) -> list[int]:
        async with ctx.reading() as session:
            found = await service.minutes_spent(session, ids)
        return [found.get(i, 0) for i in ids]

    spent: int = await ctx.loader("time spent", batch).load(task_id)
    return spent


async def entries(info: Info[Context, None], task_id: uuid.UUID) -> list[TimeEntry]:
    async with info.context.reading() as session:
        rows = await service.entries_of(session, task_id, MAX_ENTRIES)
    return [e for e in (converted(r) for r in rows) if e is not None]


@node_resolver("TimeEntry")
async def entry_by_id(info: Info[Context, None], entry_id: uuid.UUID) -> TimeEntry | None:
    async with info.context.reading() as session:
        row = await session.scalar(
            select(TimeEntryModel).where(
                TimeEntryModel.id == entry_id, TimeEntryModel.user_id == info.context.user_id
            )
        )
    return converted(row)


def _task_id(value: strawberry.ID) -> uuid.UUID:
    return decode_id(str(value), "Task", ["input", "taskId"])


MAX_LOG = 500


@strawberry.type
class TimeEntryQuery:
    @strawberry.field(description="The viewer's running timer, if one runs.")
    async def running_time_entry(self, info: Info[Context, None]) -> TimeEntry | None:
        async with info.context.reading() as session:
            return converted(await service.running(session, info.context.user_id))

    @strawberry.field(description=f"The viewer's time entries, newest first (at most {MAX_LOG}).")
    async def time_entries(
        self,
        info: Info[Context, None],
        since: Annotated[
            datetime | None,
            strawberry.argument(description="Only entries still running or ended after this."),
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(description="Only entries started before this.")
        ] = None,
    ) -> list[TimeEntry]:
        async with info.context.reading() as session:
            rows = await service.log_of(session, info.context.user_id, since, until, MAX_LOG)
        return [e for e in (converted(r) for r in rows) if e is not None]


@strawberry.type
class TimeEntryMutation:
    @strawberry.mutation(description="Start a timer on a task; a timer running on another task stops.")
    async def time_entry_start(
        self, info: Info[Context, None], input: Input[TimeEntryTaskInput]
    ) -> TimeEntryPayload:
        outcome = await run_mutation(info, lambda uow: service.start(uow, _task_id(input.task_id)))
        return TimeEntryPayload(time_entry=converted(outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(description="Stop the timer running on a task.")
    async def time_entry_stop(
        self, info: Info[Context, None], input: Input[TimeEntryTaskInput]
    ) -> TimeEntryPayload:
        outcome = await run_mutation(info, lambda uow: service.stop(uow, _task_id(input.task_id)))
        return TimeEntryPayload(time_entry=converted(outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(description="Record time spent on a task afterwards.")
    async def time_entry_create(
        self, info: Info[Context, None], input: Input[TimeEntryCreateInput]
    ) -> TimeEntryPayload:
        outcome = await run_mutation(
            info, lambda uow: service.record(uow, _task_id(input.task_id), input.start, input.end)
        )
        return TimeEntryPayload(time_entry=converted(outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(description="Delete a time entry.")
    async def time_entry_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        outcome = await run_mutation(
            info, lambda uow: service.delete(uow, decode_id(str(input.id), "TimeEntry", ["input", "id"]))
        )
        return DeletePayload(deleted_id=input.id if outcome.value else None, user_errors=outcome.errors)
