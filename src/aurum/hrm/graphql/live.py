"""The HRM's subscriptions: new insights, and one analysis run's progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy import select, text
from strawberry import Info

from aurum.errors import InvalidInput, NotFound
from aurum.graphql.context import Context
from aurum.hrm.findings import Scope
from aurum.hrm.graphql.insights import (
    INSIGHTS,
    RUNS,
    AnalysisRun,
    AnalysisStatus,
    Insight,
    insight_by_id,
    scope_of,
)
from aurum.hrm.scopes import within
from aurum.ids import decode_id, parse_global_id
from aurum.realtime.graphql import decode_cursor

LAST_EVENT = text("SELECT coalesce(max(id), 0) FROM events WHERE user_id = :user_id")
CREATED_EVENT = text(
    "SELECT id FROM events WHERE user_id = :user_id AND entity_type = 'INSIGHT' AND entity_id = :insight_id "
    "AND operation = 'CREATED'"
)
FINISHED = (AnalysisStatus.SUCCEEDED, AnalysisStatus.FAILED)


async def resume_point(info: Info[Context, None], after: str) -> int:
    """``after`` is a recordChanged cursor, or the id of the last insight the client saw."""
    parsed = parse_global_id(after)
    if parsed is None or parsed[0] != "Insight":
        return decode_cursor(after)
    ctx = info.context
    async with ctx.reading() as session:
        found = await session.scalar(CREATED_EVENT, {"user_id": ctx.user_id, "insight_id": parsed[1]})
    if found is None:
        raise InvalidInput("No insight of yours with this id is still in the change log", ["after"])
    return int(found)


async def _within(info: Info[Context, None], insight_id: uuid.UUID, scope: Scope) -> bool:
    """Whether the insight is about the scope's record or one below it (as the insights list filters)."""
    ctx = info.context
    async with ctx.reading() as session:
        found = await session.scalar(
            select(INSIGHTS.c.id).where(
                INSIGHTS.c.id == insight_id, INSIGHTS.c.user_id == ctx.user_id, within(scope)
            )
        )
    return found is not None


@strawberry.type
class HrmSubscription:
    @strawberry.subscription(
        description="Each new insight of yours as analysis finds it. With `after` (an insight's id or a "
        "recordChanged cursor), first those created since, then live, with no gap and no duplicate."
    )
    async def insight_created(
        self,
        info: Info[Context, None],
        after: Annotated[
            str | None, strawberry.argument(description="Resume after this insight (its id) or cursor.")
        ] = None,
        scope_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only insights about this record or a record below it."),
        ] = None,
    ) -> AsyncGenerator[Insight, None]:
        context = info.context
        user_id = context.user_id
        scope = scope_of(scope_id, ["scopeId"]) if scope_id is not None else None
        start = await resume_point(info, after) if after is not None else None
        async for change in context.realtime().changes(user_id, start, context.connection):
            if change.entity_type != "INSIGHT" or change.operation != "CREATED":
                continue
            if scope is not None and not await _within(info, change.entity_id, scope):
                continue
            context.forget_loaded()
            found = await insight_by_id(info, change.entity_id)
            if found is not None:
                yield found

    @strawberry.subscription(
        description="An analysis run as it is now, then each change of it until it succeeds or fails (the "
        "subscription then completes)."
    )
    async def analysis_run_updated(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The run.")],
    ) -> AsyncGenerator[AnalysisRun, None]:
        context = info.context
        user_id = context.user_id
        run_id = decode_id(str(id), "AnalysisRun", ["id"])
        # The cursor before the row (each statement sees what was committed before it): a change committed
        # in between is then both in the row and after the cursor, shown once thanks to the version, where
        # the other order could miss it, and wait forever for a run that finished in between.
        async with context.reading() as session:
            start = int(await session.scalar(LAST_EVENT, {"user_id": user_id}) or 0)
            row = (
                await session.execute(select(RUNS).where(RUNS.c.id == run_id, RUNS.c.user_id == user_id))
            ).first()
        if row is None:
            raise NotFound("No AnalysisRun with this id", ["id"])
        run = AnalysisRun.from_row(row)
        yield run
        if run.status in FINISHED:
            return
        async for change in context.realtime().changes(user_id, start, context.connection):
            if change.entity_type != "ANALYSIS_RUN" or change.entity_id != run_id:
                continue
            async with context.reading() as session:
                row = (await session.execute(select(RUNS).where(RUNS.c.id == run_id))).first()
            if row is None:
                return
            if row.version <= run.version:
                continue  # already shown
            run = AnalysisRun.from_row(row)
            yield run
            if run.status in FINISHED:
                return
