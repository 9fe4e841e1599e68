"""``plan``: the viewer's open work in time blocks over GraphQL (see ``aurum.hrm.day_plan``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry import Info

from aurum.db import UnitOfWork
from aurum.errors import DomainError, InvalidInput
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.types import Input, UserError
from aurum.hrm import scoring
from aurum.hrm.day_plan import MAX_DAYS, Planned, prepare_plan, solve
from aurum.hrm.kept_plan import keep
from aurum.models import readable, table_of
from aurum.planning import Solver
from aurum.task.model import Task as TaskModel

if TYPE_CHECKING:
    from aurum.task.graphql import Task

TASKS = table_of(TaskModel)
LazyTask = Annotated["Task", strawberry.lazy("aurum.task.graphql")]
MAX_AHEAD_DAYS = 366
SOLVER_NAMES = {Solver.CP_SAT_OPTIMAL: "cp-sat", Solver.CP_SAT_FEASIBLE: "cp-sat", Solver.GREEDY: "greedy"}


@strawberry.type(description="A stretch of time given to one task.")
class PlanBlock:
    task: LazyTask = strawberry.field(description="The task worked on.")
    start: datetime = strawberry.field(description="When the block starts.")
    end: datetime = strawberry.field(description="When it ends.")
    reason: str = strawberry.field(description="Why it is here, in one line.")


@strawberry.type(description="Open work the plan does not place, with why.")
class UnscheduledTask:
    task: LazyTask = strawberry.field(description="The task.")
    reason: str = strawberry.field(description="Why it has no block (or not all of its blocks).")


@strawberry.type(description="A due moment the plan does not meet.")
class DeadlineRisk:
    task: LazyTask = strawberry.field(description="The task at risk.")
    due_at: datetime = strawberry.field(description="When it falls due.")
    earliest_finish: datetime | None = strawberry.field(
        description="The soonest it could be done if it and what it waits on came first; null when it is "
        "not in the plan at all or could not finish within 28 days after it."
    )
    shortfall_minutes: int | None = strawberry.field(
        description="Work time (inside work hours and days) between the due moment and that earliest finish; "
        "0 when the due could be met but the plan gives the time to more important work; null with "
        "earliestFinish."
    )
    reason: str = strawberry.field(description="Why, in one line.")


@strawberry.type(description="One day of a plan.")
class PlanDay:
    date: date = strawberry.field(description="The day, in the viewer's time zone.")
    capacity_minutes: int = strawberry.field(
        description="What can be planned that day: work time not busy nor past, within the daily capacity."
    )
    planned_minutes: int = strawberry.field(description="Of it, planned.")
    busy_minutes: int = strawberry.field(description="Busy time inside that day's work hours.")


@strawberry.type(description="The viewer's open work placed into time blocks inside their work hours.")
class Plan:
    blocks: list[PlanBlock] = strawberry.field(description="Every block, in time order.")
    unscheduled: list[UnscheduledTask] = strawberry.field(description="Open work without (all of) its time.")
    at_risk: list[DeadlineRisk] = strawberry.field(description="Deadlines the plan does not meet.")
    days: list[PlanDay] = strawberry.field(description="Each day's capacity and load.")
    solver: str = strawberry.field(
        description="Who placed the blocks: 'cp-sat' (OR-Tools), or 'greedy' when the solver gave no plan "
        "in time and the fallback stands in."
    )
    solver_detail: str = strawberry.field(description="Why that solver's plan is the answer, in one line.")


def block_reason(planned: Planned, task_id: uuid.UUID, reason: str) -> str:
    if task_id not in planned.estimated:
        return reason
    return f"{reason}; no estimate, so planned at the usual length of its kind (yours, once time is tracked)"


async def _tasks(info: Info[Context, None], ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Task]:
    from aurum.task.graphql import Task

    async with info.context.reading() as session:
        rows = (await session.execute(select(*readable(TASKS)).where(TASKS.c.id.in_(list(ids))))).all()
    return {row.id: Task.from_row(row) for row in rows}


def assembled(planned: Planned, tasks: dict[uuid.UUID, Any]) -> Plan:
    found = planned.plan
    return Plan(
        blocks=[
            PlanBlock(
                task=tasks[b.task_id],
                start=b.start,
                end=b.end,
                reason=block_reason(planned, b.task_id, b.reason),
            )
            for b in found.blocks
            if b.task_id in tasks
        ],
        unscheduled=[
            UnscheduledTask(task=tasks[u.task_id], reason=u.reason)
            for u in found.unscheduled
            if u.task_id in tasks
        ],
        at_risk=[
            DeadlineRisk(
                task=tasks[r.task_id],
                due_at=r.due,
                earliest_finish=r.earliest_finish,
                shortfall_minutes=r.shortfall_minutes,
                reason=r.reason,
            )
            for r in found.at_risk
            if r.task_id in tasks
        ],
        days=[
            PlanDay(
                date=d.date,
                capacity_minutes=d.capacity_minutes,
                planned_minutes=d.planned_minutes,
                busy_minutes=d.busy_minutes,
            )
            for d in found.days
        ],
        solver=SOLVER_NAMES[found.solver.solver],
        solver_detail=found.solver.detail,
    )


def checked_horizon(start: date | None, days: int, today: date) -> date:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"'days' must be between 1 and {MAX_DAYS}", ["days"])
    first = start or today
    if first < today:
        raise InvalidInput("a plan cannot start before today (in your time zone)", ["start"])
    if first > today + timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput(f"a plan starts at most {MAX_AHEAD_DAYS} days ahead", ["start"])
    return first


async def planned_for(info: Info[Context, None], start: date | None, days: int) -> tuple[Planned, date]:
    ctx = info.context
    now, zone = scoring.clock(), await ctx.timezone()
    first = checked_horizon(start, days, now.astimezone(zone).date())
    limit = timedelta(seconds=ctx.resources.settings.plan_time_limit)
    async with ctx.reading() as session:
        prepared = await prepare_plan(session, ctx.user_id, first, days, now, limit)
    return await solve(prepared), first


async def answered(info: Info[Context, None], planned: Planned) -> Plan:
    found = planned.plan
    named = {b.task_id for b in found.blocks} | {u.task_id for u in found.unscheduled}
    named |= {r.task_id for r in found.at_risk}
    return assembled(planned, await _tasks(info, sorted(named)))


async def viewer_plan(info: Info[Context, None], start: date | None, days: int) -> Plan:
    planned, _ = await planned_for(info, start, days)
    return await answered(info, planned)


@strawberry.input(description="The days to plan and keep.")
class PlanCommitInput:
    start: date | None = strawberry.field(default=None, description="The first day (default: today).")
    days: int = strawberry.field(default=1, description=f"How many days, 1–{MAX_DAYS}.")


@strawberry.type(description="The plan as kept.")
class PlanPayload:
    plan: Plan | None = strawberry.field(description="The plan kept.")
    changed_tasks: int = strawberry.field(description="Tasks whose scheduled span changed.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was kept, if so.")


async def commit_plan(info: Info[Context, None], given: PlanCommitInput) -> PlanPayload:
    try:
        planned, first = await planned_for(info, given.start, given.days)
    except DomainError as error:
        return PlanPayload(plan=None, changed_tasks=0, user_errors=UserError.from_exception(error))
    zone = await info.context.timezone()
    opens = datetime.combine(first, time(), zone)
    closes = opens + timedelta(days=given.days)

    async def work(uow: UnitOfWork) -> int:
        return await keep(uow.session, uow.user_id, planned.plan.blocks, opens, closes)

    outcome = await run_mutation(info, work)
    if outcome.value is None:
        return PlanPayload(plan=None, changed_tasks=0, user_errors=outcome.errors)
    return PlanPayload(plan=await answered(info, planned), changed_tasks=outcome.value, user_errors=[])


@strawberry.type
class PlanMutation:
    @strawberry.mutation(
        description="Plan the days and keep the plan: each task gets scheduledStart and scheduledEnd, and "
        "later plans keep its blocks where they are unless something forces a move."
    )
    async def plan_commit(self, info: Info[Context, None], input: Input[PlanCommitInput]) -> PlanPayload:
        return await commit_plan(info, input)


@strawberry.type
class PlanQuery:
    @strawberry.field(
        description="The viewer's open work placed into time blocks inside their work hours and days "
        "(hrmPreferences), respecting dependencies and deadlines, deep work in their energy peak, blocks of "
        "25–90 minutes with breaks between. Open tasks of projects under way only; what stays out is listed "
        "in unscheduled with why."
    )
    async def plan(
        self,
        info: Info[Context, None],
        start: Annotated[
            date | None, strawberry.argument(description="The first day (default: today, in your zone).")
        ] = None,
        days: Annotated[int, strawberry.argument(description=f"How many days, 1–{MAX_DAYS}.")] = 1,
    ) -> Plan:
        return await viewer_plan(info, start, days)
