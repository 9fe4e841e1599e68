"""The viewer's analysis runs, newest first: the history of what the HRM looked at and how it went."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy import ColumnElement
from strawberry import Info

from aurum.graphql.context import Context
from aurum.graphql.relations import page_of_list
from aurum.graphql.types import After, Connection, Filter, First
from aurum.hrm.graphql.insights import RUNS, AnalysisRun, AnalysisStatus
from aurum.pagination import Ordering, PageArgs, SortKey

NEWEST_FIRST = Ordering(
    name="analysis_runs:CREATED_AT",
    keys=(SortKey(RUNS.c.created_at, datetime), SortKey(RUNS.c.id, uuid.UUID)),
    descending=True,
)


@strawberry.input(description="Which analysis runs to list.")
class AnalysisRunFilter:
    status: list[AnalysisStatus] | None = strawberry.field(default=None, description="Only these statuses.")


def run_conditions(filter: AnalysisRunFilter | None) -> list[ColumnElement[bool]]:
    if filter is None or not filter.status:
        return []
    return [RUNS.c.status.in_([s.value for s in filter.status])]


@strawberry.type
class AnalysisRunQuery:
    @strawberry.field(description="The viewer's analysis runs, newest first.")
    async def analysis_runs(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        filter: Filter[AnalysisRunFilter] = None,
    ) -> Connection[AnalysisRun]:
        page = await page_of_list(info, RUNS, run_conditions(filter), NEWEST_FIRST, PageArgs(first, after))
        return Connection.from_page(page, AnalysisRun.from_row)
