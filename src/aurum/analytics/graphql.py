"""The alignment report over GraphQL (the rules are in ``aurum.analytics.alignment``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from strawberry import Info

from aurum.analytics import alignment
from aurum.graphql.context import Context
from aurum.pillar.graphql import Pillar


@strawberry.type(description="One pillar's planned share of time against the share of completed work it got.")
class PillarAlignment:
    pillar: Pillar = strawberry.field(description="The pillar.")
    planned_share: float = strawberry.field(
        description="Its time allocation ÷ that of all active pillars, 0–1 (equal shares when none has one; "
        "0 for an archived pillar)."
    )
    actual_share: float = strawberry.field(
        description="Its share of the work completed in the range, 0–1: by estimated minutes, or by the "
        "number of tasks when no completed task has an estimate."
    )
    completed_tasks: int = strawberry.field(
        description="Its tasks completed in the range, subtasks included."
    )
    completed_minutes: int = strawberry.field(
        description="The estimated minutes of those tasks (a task without an estimate adds 0)."
    )

    @classmethod
    def of(cls, effort: alignment.PillarEffort) -> PillarAlignment:
        return cls(
            pillar=Pillar.from_row(effort.pillar),
            planned_share=effort.planned_share,
            actual_share=effort.actual_share,
            completed_tasks=effort.completed_tasks,
            completed_minutes=effort.completed_minutes,
        )


@strawberry.type(
    description="How the work completed in a range of days spread over the pillars, and the "
    "alignment points it earned."
)
class AlignmentReport:
    from_: date = strawberry.field(name="from", description="The first day, in the viewer's time zone.")
    to: date = strawberry.field(description="The last day (included), in the viewer's time zone.")
    points: int = strawberry.field(
        description="Alignment points earned in the range: 5 a completed task, +10 for a high or urgent "
        "task, +15 for a high or urgent project, +20 for an area of importance 5."
    )
    goal: int | None = strawberry.field(
        description="The monthly alignment goal prorated to the range's days (a whole month: the goal); "
        "null without a goal."
    )
    pillars: list[PillarAlignment] = strawberry.field(
        description="The active pillars, and archived ones with work completed in the range, by sort order."
    )

    @classmethod
    def of(cls, report: alignment.Report) -> AlignmentReport:
        return cls(
            from_=report.period.first,
            to=report.period.last,
            points=report.points,
            goal=report.goal,
            pillars=[PillarAlignment.of(p) for p in report.pillars],
        )


From = Annotated[
    date | None,
    strawberry.argument(
        name="from",
        description="The first day, in the viewer's time zone; by default the first of `to`'s month.",
    ),
]
To = Annotated[
    date | None,
    strawberry.argument(description="The last day (included), in the viewer's time zone; by default today."),
]


@strawberry.type
class AlignmentQuery:
    @strawberry.field(
        description="Per pillar, the planned share of time against the actual share of completed work, and "
        "alignment points against the goal, for days in the viewer's time zone (at most 366)."
    )
    async def alignment(
        self, info: Info[Context, None], from_: From = None, to: To = None
    ) -> AlignmentReport:
        ctx = info.context
        viewer = await ctx.viewer()
        zone = ZoneInfo(viewer.timezone)
        span = alignment.period(from_, to, zone, datetime.now(zone).date())
        async with ctx.reading() as session:
            report = await alignment.report(session, ctx.user_id, span, viewer.monthly_alignment_goal)
        return AlignmentReport.of(report)
