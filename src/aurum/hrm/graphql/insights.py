"""Insights and analysis runs over GraphQL: reading them, asking for an analysis, pinning, dismissing and
judging insights."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, Row, and_, select
from strawberry import Info

from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.graphql.context import Context
from aurum.graphql.mutations import run_mutation
from aurum.graphql.node import RESOLVERS, node_resolver
from aurum.graphql.relations import page_of_children, page_of_list, row_by_id
from aurum.graphql.types import After, Connection, Filter, First, Input, Node, UserError
from aurum.hrm import analysis, feedback
from aurum.hrm.factors import Factor
from aurum.hrm.findings import NODE_TYPES, Scope
from aurum.hrm.graphql.scores import ScoreFactor
from aurum.hrm.graphql.settings import InsightScope
from aurum.hrm.model import AnalysisRun as RunModel
from aurum.hrm.model import Insight as InsightModel
from aurum.hrm.scopes import scope_gone, within
from aurum.ids import decode_id, parse_global_id, shown, to_global_id
from aurum.journal.graphql import InsightSource
from aurum.models import table_of
from aurum.pagination import Ordering, PageArgs, SortKey

INSIGHTS = table_of(InsightModel)
RUNS = table_of(RunModel)
NEWEST_FIRST = Ordering(
    name="insights:CREATED_AT",
    keys=(SortKey(INSIGHTS.c.created_at, datetime), SortKey(INSIGHTS.c.id, uuid.UUID)),
    descending=True,
)
SCOPE_OF_TYPE = {type_name: scope for scope, type_name in NODE_TYPES.items()}


@strawberry.enum(description="What an insight is about.")
class InsightType(Enum):
    PRIORITY_REASONING = "priority_reasoning"
    ALIGNMENT_ANALYSIS = "alignment_analysis"
    PATTERN_RECOGNITION = "pattern_recognition"
    RECOMMENDATION = "recommendation"
    GOAL_COHERENCE = "goal_coherence"
    TIME_ALLOCATION = "time_allocation"
    PROGRESS_PREDICTION = "progress_prediction"
    OBSTACLE_IDENTIFICATION = "obstacle_identification"


@strawberry.enum(description="Whether an insight still stands.")
class InsightStatus(Enum):
    ACTIVE = "active"
    DISMISSED = "dismissed"
    EXPIRED = "expired"


@strawberry.enum(description="How deep an analysis goes.")
class AnalysisDepth(Enum):
    QUICK = strawberry.enum_value("quick", description="The rules alone: the fewest insights, fastest.")
    BALANCED = strawberry.enum_value("balanced", description="The rules, and the AI model when allowed.")
    DEEP = strawberry.enum_value("deep", description="More insights, and the model with more context.")


@strawberry.enum(description="Where an analysis run stands.")
class AnalysisStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


async def node_of(
    info: Info[Context, None], type_name: str | None, object_id: uuid.UUID | None
) -> Node | None:
    if type_name is None or object_id is None:
        return None
    resolver = RESOLVERS.get(type_name)
    node: Node | None = await resolver(info, object_id) if resolver else None
    return node


@strawberry.type(description="One level of an insight's reasoning, from the pillar down to its scope.")
class ReasoningStep:
    entity_type: strawberry.Private[str | None]
    entity_id: strawberry.Private[uuid.UUID | None]
    level: InsightScope = strawberry.field(description="The level of the hierarchy.")
    reasoning: str = strawberry.field(description="Why this level matters here.")
    confidence: float = strawberry.field(description="How sure the HRM is at this level, 0–1.")
    factors: list[ScoreFactor] = strawberry.field(description="What weighed at this level.")

    @strawberry.field(description="The pillar, area, project or task of this level (null when gone).")
    async def entity(self, info: Info[Context, None]) -> Node | None:
        return await node_of(info, self.entity_type, self.entity_id)

    @classmethod
    def of(cls, data: dict[str, Any]) -> ReasoningStep:
        entity = data.get("entity") or {}
        return cls(
            entity_type=entity.get("type"),
            entity_id=uuid.UUID(entity["id"]) if entity.get("id") else None,
            level=InsightScope(data["level"]),
            reasoning=data["reasoning"],
            confidence=float(data["confidence"]),
            factors=[ScoreFactor.of(Factor.from_json(f)) for f in data.get("factors", [])],
        )


@strawberry.type(description="A fact an insight rests on.")
class InsightEvidence:
    entity_type: strawberry.Private[str]
    entity_id: strawberry.Private[uuid.UUID]
    fact: str = strawberry.field(description="The fact, in one line.")

    @strawberry.field(description="The record it is about (null when gone).")
    async def entity(self, info: Info[Context, None]) -> Node | None:
        return await node_of(info, self.entity_type, self.entity_id)


@strawberry.type(description="Something the HRM found, with how it got there.")
class Insight(Node):
    scope_type_value: strawberry.Private[str]
    scope_uuid: strawberry.Private[uuid.UUID | None]
    run_uuid: strawberry.Private[uuid.UUID]
    path: strawberry.Private[list[dict[str, Any]]]
    evidence_rows: strawberry.Private[list[dict[str, Any]]]
    scope_type: InsightScope = strawberry.field(description="The level it is about.")
    type: InsightType = strawberry.field(description="What kind of insight it is.")
    rule_code: str | None = strawberry.field(description="The rule that found it (AI_ADVICE: the model).")
    title: str = strawberry.field(description="One line.")
    summary: str = strawberry.field(description="What it found and why it matters.")
    confidence: float = strawberry.field(description="How sure the HRM is, 0–1.")
    impact: float = strawberry.field(description="How much acting on it would matter, 0–1.")
    recommendations: list[str] = strawberry.field(description="What to do, most useful first (at most 5).")
    source: InsightSource = strawberry.field(description="The rules, or the AI model.")
    model: str | None = strawberry.field(description="The AI model's name, for an LLM insight.")
    status: InsightStatus = strawberry.field(description="Active, dismissed or expired.")
    pinned: bool = strawberry.field(description="Pinned insights stay past their expiry.")
    expires_at: datetime | None = strawberry.field(description="When it expires unless pinned.")
    tags: list[str] = strawberry.field(description="Labels ('rules-only' when the model could not help).")
    version: int = strawberry.field(description="Increases with every change.")
    created_at: datetime = strawberry.field(
        description="When it was first found (found again, it is refreshed in place: see version)."
    )

    @classmethod
    def from_row(cls, row: Any) -> Insight:
        return cls(
            id=strawberry.ID(to_global_id("Insight", row.id)),
            scope_type_value=row.scope_type,
            scope_uuid=row.scope_id,
            run_uuid=row.run_id,
            path=row.reasoning_path,
            evidence_rows=row.evidence,
            scope_type=InsightScope(row.scope_type),
            type=InsightType(row.type),
            rule_code=row.rule_code,
            title=row.title,
            summary=row.summary,
            confidence=row.confidence,
            impact=row.impact,
            recommendations=list(row.recommendations),
            source=InsightSource(row.source.upper()),
            model=row.model,
            status=InsightStatus(row.status),
            pinned=row.pinned,
            expires_at=row.expires_at,
            tags=list(row.tags),
            version=row.version,
            created_at=row.created_at,
        )

    @strawberry.field(description="The pillar, area, project or task it is about; null for everything.")
    async def scope(self, info: Info[Context, None]) -> Node | None:
        return await node_of(info, NODE_TYPES.get(self.scope_type_value), self.scope_uuid)

    @strawberry.field(description="From the pillar down to its scope: why, level by level.")
    def reasoning_path(self) -> list[ReasoningStep]:
        return [ReasoningStep.of(step) for step in self.path]

    @strawberry.field(description="The facts it rests on.")
    def evidence(self) -> list[InsightEvidence]:
        return [
            InsightEvidence(entity_type=e["type"], entity_id=uuid.UUID(e["id"]), fact=e["fact"])
            for e in self.evidence_rows
        ]

    @strawberry.field(description="The analysis run that last found it.")
    async def run(self, info: Info[Context, None]) -> AnalysisRun | None:
        return await run_by_id(info, self.run_uuid)


@strawberry.type(description="One analysis, run as a job: follow it with analysisRunUpdated.")
class AnalysisRun(Node):
    row_id: strawberry.Private[uuid.UUID]
    scope_type_value: strawberry.Private[str]
    scope_uuid: strawberry.Private[uuid.UUID | None]
    scope_type: InsightScope = strawberry.field(description="The level analysed.")
    depth: AnalysisDepth = strawberry.field(description="How deep it goes.")
    status: AnalysisStatus = strawberry.field(description="Queued, running, succeeded or failed.")
    attempts: int = strawberry.field(description="How many times it was started.")
    error: str | None = strawberry.field(description="Why it failed (or why its last attempt did).")
    model: str | None = strawberry.field(description="The AI model that added insights, if one did.")
    model_note: str | None = strawberry.field(
        description="Why the insights come from the rules alone when the model was wanted (AI off, no quota "
        "left, an unusable answer …)."
    )
    created_at: datetime = strawberry.field(description="When it was requested.")
    started_at: datetime | None = strawberry.field(description="When it first started.")
    finished_at: datetime | None = strawberry.field(description="When it finished.")
    version: int = strawberry.field(description="Increases with every change.")

    @classmethod
    def from_row(cls, row: Any) -> AnalysisRun:
        return cls(
            id=strawberry.ID(to_global_id("AnalysisRun", row.id)),
            row_id=row.id,
            scope_type_value=row.scope_type,
            scope_uuid=row.scope_id,
            scope_type=InsightScope(row.scope_type),
            depth=AnalysisDepth(row.depth),
            status=AnalysisStatus(row.status),
            attempts=row.attempts,
            error=row.error,
            model=row.model,
            model_note=row.model_note,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            version=row.version,
        )

    @strawberry.field(description="What it analysed; null for everything (or when that is gone).")
    async def scope(self, info: Info[Context, None]) -> Node | None:
        return await node_of(info, NODE_TYPES.get(self.scope_type_value), self.scope_uuid)

    @strawberry.field(description="The insights it found, most impactful first.")
    async def insights(self, info: Info[Context, None]) -> list[Insight]:
        ctx = info.context
        statement = (
            select(INSIGHTS)
            .where(INSIGHTS.c.run_id == self.row_id, INSIGHTS.c.user_id == ctx.user_id)
            .order_by(INSIGHTS.c.impact.desc(), INSIGHTS.c.id)
        )
        async with ctx.reading() as session:
            return [Insight.from_row(r) for r in (await session.execute(statement)).all()]


@node_resolver("Insight")
async def insight_by_id(info: Info[Context, None], insight_id: uuid.UUID) -> Insight | None:
    row: Row[Any] | None = await row_by_id(info, INSIGHTS, insight_id)
    return Insight.from_row(row) if row is not None else None


@node_resolver("AnalysisRun")
async def run_by_id(info: Info[Context, None], run_id: uuid.UUID) -> AnalysisRun | None:
    row: Row[Any] | None = await row_by_id(info, RUNS, run_id)
    return AnalysisRun.from_row(row) if row is not None else None


def scope_of(value: strawberry.ID | None, field: list[str]) -> Scope:
    """The scope a global id names (a pillar, area, project or task); null: everything."""
    if value is None:
        return Scope("global")
    parsed = parse_global_id(str(value))
    if parsed is None:
        raise InvalidInput(f"{shown(str(value))} is not a valid id", field)
    scope_type = SCOPE_OF_TYPE.get(parsed[0])
    if scope_type is None:  # an id of another type names no pillar, area, project or task
        raise NotFound("No pillar, area, project or task with this id", field)
    return Scope(scope_type, parsed[1])


@strawberry.input(description="Which insights to list.")
class InsightFilter:
    scope_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only those about this pillar, area, project or task, or about a record below it (a "
        "project's insights include those about its tasks).",
    )
    types: list[InsightType] | None = strawberry.field(default=None, description="Only these kinds.")
    status: list[InsightStatus] | None = strawberry.field(
        default=None, description="Only these statuses (default: active ones)."
    )
    pinned: bool | None = strawberry.field(default=None, description="true: pinned only; false: unpinned.")
    min_confidence: float | None = strawberry.field(
        default=None, description="At least this confident (0–1)."
    )


def insight_conditions(filter: InsightFilter | None) -> list[ColumnElement[bool]]:
    filter = filter or InsightFilter()
    # An active insight about a deleted record is expired by the job that follows the deletion; until then
    # it is not listed either.
    found: list[ColumnElement[bool]] = [~and_(INSIGHTS.c.status == "active", scope_gone())]
    if filter.scope_id is not None:
        found.append(within(scope_of(filter.scope_id, ["filter", "scopeId"])))
    if filter.types:
        found.append(INSIGHTS.c.type.in_([t.value for t in filter.types]))
    found.append(INSIGHTS.c.status.in_([s.value for s in filter.status or [InsightStatus.ACTIVE]]))
    if filter.pinned is not None:
        found.append(INSIGHTS.c.pinned.is_(filter.pinned))
    if filter.min_confidence is not None:
        if not 0 <= filter.min_confidence <= 1:
            raise InvalidInput("minConfidence is between 0 and 1", ["filter", "minConfidence"])
        found.append(INSIGHTS.c.confidence >= filter.min_confidence)
    return found


async def insights_page(
    info: Info[Context, None], first: int | None, after: str | None, filter: InsightFilter | None
) -> Connection[Insight]:
    page = await page_of_list(
        info, INSIGHTS, insight_conditions(filter), NEWEST_FIRST, PageArgs(first, after)
    )
    return Connection.from_page(page, Insight.from_row)


async def insights_of_task(
    info: Info[Context, None], task_id: uuid.UUID, args: PageArgs, filter: InsightFilter | None
) -> Connection[Insight]:
    """The insights about one task; one statement for the same field of every task of the query."""
    conditions = insight_conditions(filter)
    page = await page_of_children(
        info, "insights", INSIGHTS, INSIGHTS.c.scope_id, task_id, conditions, NEWEST_FIRST, args, repr(filter)
    )
    return Connection.from_page(page, Insight.from_row)


@strawberry.type
class InsightQuery:
    @strawberry.field(description="The viewer's insights, newest first (active ones unless filtered).")
    async def insights(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        filter: Filter[InsightFilter] = None,
    ) -> Connection[Insight]:
        return await insights_page(info, first, after, filter)

    @strawberry.field(description="One of the viewer's analysis runs.")
    async def analysis_run(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")],
    ) -> AnalysisRun | None:
        return await run_by_id(info, decode_id(str(id), "AnalysisRun", ["id"]))


@strawberry.input(description="What to analyse.")
class AnalysisRequestInput:
    scope_id: strawberry.ID | None = strawberry.field(
        default=None, description="A pillar, area, project or task; null: everything."
    )
    depth: AnalysisDepth = strawberry.field(default=AnalysisDepth.BALANCED, description="How deep.")
    force: bool = strawberry.field(
        default=False, description="Ask the AI model afresh rather than reuse its answer to the same input."
    )


@strawberry.type(description="The answer of analysisRequest.")
class AnalysisRequestPayload:
    run: AnalysisRun | None = strawberry.field(
        description="The run: new and queued, or the identical one still pending."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was requested, if so.")


@strawberry.enum(description="A verdict on an insight.")
class InsightVerdict(Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    MODIFIED = "MODIFIED"
    IGNORED = "IGNORED"


@strawberry.input(description="A verdict on an insight.")
class InsightFeedbackInput:
    insight_id: strawberry.ID = strawberry.field(description="The insight.")
    verdict: InsightVerdict = strawberry.field(description="What the viewer made of it.")
    comment: str | None = strawberry.field(default=None, description="Why, in the viewer's words (≤2000).")


@strawberry.input(description="Pin or unpin an insight.")
class InsightPinInput:
    id: strawberry.ID = strawberry.field(description="The insight.")
    pinned: bool = strawberry.field(default=True, description="true: keep it past its expiry.")


@strawberry.input(description="Dismiss an insight.")
class InsightDismissInput:
    id: strawberry.ID = strawberry.field(description="The insight.")


@strawberry.type(description="The answer of a change to an insight.")
class InsightPayload:
    insight: Insight | None = strawberry.field(description="The insight as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="The answer of insightFeedback.")
class InsightFeedbackPayload:
    insight: Insight | None = strawberry.field(
        description="The insight as it is now (rejected: dismissed; accepted: active again if dismissed)."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was recorded, if so.")


def insight_of(outcome: Any) -> Insight | None:
    return Insight.from_row(outcome.value) if outcome.value is not None else None


@strawberry.type
class InsightMutation:
    @strawberry.mutation(
        description="Analyse a pillar, area, project or task (or everything): a job finds insights; "
        "follow it with analysisRunUpdated or insightCreated. An identical request while one is pending "
        "returns that run."
    )
    async def analysis_request(
        self, info: Info[Context, None], input: Input[AnalysisRequestInput]
    ) -> AnalysisRequestPayload:
        resources = info.context.resources

        async def work(uow: UnitOfWork) -> Any:
            scope = scope_of(input.scope_id, ["input", "scopeId"])
            run, _ = await analysis.request(uow, resources, scope, str(input.depth.value), input.force)
            return run

        outcome = await run_mutation(info, work)
        run = AnalysisRun.from_row(outcome.value) if outcome.value is not None else None
        return AnalysisRequestPayload(run=run, user_errors=outcome.errors)

    @strawberry.mutation(
        description="Tell the HRM what an insight was worth: with learning on, the weight of the rule behind "
        "it moves (accepted up, rejected down; a new verdict replaces your earlier one's effect) and every "
        "verdict is logged. REJECTED dismisses the insight (and unpins it); ACCEPTED or MODIFIED brings a "
        "dismissed insight back to ACTIVE unless it is past its expiry."
    )
    async def insight_feedback(
        self, info: Info[Context, None], input: Input[InsightFeedbackInput]
    ) -> InsightFeedbackPayload:
        async def work(uow: UnitOfWork) -> Any:
            insight_id = decode_id(str(input.insight_id), "Insight", ["input", "insightId"])
            return await feedback.insight_feedback(uow, insight_id, input.verdict.value, input.comment)

        outcome = await run_mutation(info, work)
        return InsightFeedbackPayload(insight=insight_of(outcome), user_errors=outcome.errors)

    @strawberry.mutation(
        description="Pin an insight (it stays past its expiry) or unpin it. Pinning a DISMISSED insight "
        "brings it back to ACTIVE; an EXPIRED one cannot be pinned (BAD_USER_INPUT). Pinning a pinned "
        "insight changes nothing (same version)."
    )
    async def insight_pin(self, info: Info[Context, None], input: Input[InsightPinInput]) -> InsightPayload:
        async def work(uow: UnitOfWork) -> Any:
            insight_id = decode_id(str(input.id), "Insight", ["input", "id"])
            return await feedback.pin_insight(uow, insight_id, input.pinned)

        outcome = await run_mutation(info, work)
        return InsightPayload(insight=insight_of(outcome), user_errors=outcome.errors)

    @strawberry.mutation(
        description="Dismiss an insight: it leaves the active list and is unpinned. The same finding found "
        "again stays dismissed until it concerns other records or expires. Dismissing a dismissed insight "
        "changes nothing (same version)."
    )
    async def insight_dismiss(
        self, info: Info[Context, None], input: Input[InsightDismissInput]
    ) -> InsightPayload:
        async def work(uow: UnitOfWork) -> Any:
            insight_id = decode_id(str(input.id), "Insight", ["input", "id"])
            return await feedback.dismiss_insight(uow, insight_id)

        outcome = await run_mutation(info, work)
        return InsightPayload(insight=insight_of(outcome), user_errors=outcome.errors)
