"""The HRM's rules and the viewer's preferences over GraphQL, and verdicts on task priorities."""

from __future__ import annotations

from datetime import time
from enum import Enum
from typing import Any

import strawberry
from strawberry import Info

from aurum.db import UnitOfWork
from aurum.graphql.context import Context
from aurum.graphql.mutations import provided, run_mutation
from aurum.graphql.types import Input, UserError
from aurum.hrm import feedback, service
from aurum.hrm.preferences import Preferences
from aurum.hrm.weights import RuleWeight, rule_weights
from aurum.ids import decode_id
from aurum.task.kinds import Weekday
from aurum.task.mutations import TaskPayload, task_payload


@strawberry.enum(description="How much the HRM explains.")
class ExplanationDetail(Enum):
    MINIMAL = "minimal"
    BALANCED = "balanced"
    DETAILED = "detailed"


@strawberry.enum(description="Who the HRM speaks as.")
class AiPersonality(Enum):
    COACH = "coach"
    ASSISTANT = "assistant"
    STRATEGIST = "strategist"
    MOTIVATOR = "motivator"


@strawberry.enum(description="How the HRM speaks.")
class CommunicationStyle(Enum):
    DIRECT = "direct"
    ENCOURAGING = "encouraging"
    ANALYTICAL = "analytical"
    SOCRATIC = "socratic"


@strawberry.enum(description="What the HRM optimises for first.")
class PrimaryOptimisation(Enum):
    BALANCE = "balance"
    FOCUS = "focus"
    EXPLORATION = "exploration"
    EFFICIENCY = "efficiency"
    WELLBEING = "wellbeing"


@strawberry.enum(description="When in the day the viewer has the most energy.")
class EnergyPattern(Enum):
    MORNING_PEAK = "morning_peak"
    AFTERNOON_PEAK = "afternoon_peak"
    EVENING_PEAK = "evening_peak"
    STEADY = "steady"


@strawberry.enum(description="The kind of an HRM rule.")
class RuleKind(Enum):
    SCORING = "scoring"
    TEMPORAL = "temporal"
    CONSTRAINT = "constraint"
    RELATIONSHIP = "relationship"
    PATTERN = "pattern"


@strawberry.enum(description="The level of the hierarchy a rule looks at.")
class InsightScope(Enum):
    GLOBAL = "global"
    PILLAR = "pillar"
    AREA = "area"
    PROJECT = "project"
    TASK = "task"


@strawberry.type(description="A rule of the HRM, with the viewer's weight for it.")
class HrmRule:
    code: str = strawberry.field(description="Its stable code, as in ScoreFactor.ruleCode.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What it does, with its thresholds.")
    level: InsightScope = strawberry.field(description="The level it looks at.")
    applies_to: list[InsightScope] = strawberry.field(description="The scopes it takes part in.")
    kind: RuleKind = strawberry.field(description="Its kind.")
    base_weight: float = strawberry.field(description="Its weight for everyone, 0–1.")
    weight: float = strawberry.field(
        description="The viewer's effective weight: their override, else the learned weight, else the base."
    )
    override_weight: float | None = strawberry.field(description="The weight the viewer set, if any.")
    learned_weight: float | None = strawberry.field(
        description="The weight learned from the viewer's feedback, if any (within ±0.4 of the base)."
    )
    user_adjustable: bool = strawberry.field(description="Whether the viewer may set its weight.")
    requires_llm: bool = strawberry.field(description="Whether it needs the AI model.")
    active: bool = strawberry.field(description="Whether it is in use.")

    @classmethod
    def of(cls, weight: RuleWeight) -> HrmRule:
        rule = weight.rule
        return cls(
            code=rule.code,
            name=rule.name,
            description=rule.description,
            level=InsightScope(rule.level),
            applies_to=[InsightScope(a) for a in rule.applies_to],
            kind=RuleKind(rule.kind),
            base_weight=rule.base_weight,
            weight=weight.effective,
            override_weight=weight.override,
            learned_weight=weight.learned,
            user_adjustable=rule.user_adjustable,
            requires_llm=rule.requires_llm,
            active=rule.active,
        )


@strawberry.type(description="How the HRM works for the viewer.")
class HrmPreferences:
    explanation_detail: ExplanationDetail = strawberry.field(
        description="Minimal: the scope's own reasoning and 1 recommendation; balanced: the path from the "
        "pillar and 3; detailed: factors at every level and 5."
    )
    show_confidence: bool = strawberry.field(description="Whether apps show confidence figures.")
    show_reasoning: bool = strawberry.field(description="Whether `today` carries a coaching line.")
    ai_personality: AiPersonality = strawberry.field(description="Who the AI model speaks as.")
    communication_style: CommunicationStyle = strawberry.field(description="How the AI model speaks.")
    primary_optimisation: PrimaryOptimisation = strawberry.field(
        description="What analysis weighs first: it raises the impact of the matching findings."
    )
    work_hours_start: time = strawberry.field(description="When the work day starts (the viewer's clock).")
    work_hours_end: time = strawberry.field(description="When it ends; before the start means overnight.")
    work_days: list[Weekday] = strawberry.field(description="The days worked (overload counts their hours).")
    energy_pattern: EnergyPattern = strawberry.field(description="When energy peaks (the energy rule).")
    learning_enabled: bool = strawberry.field(description="Whether feedback moves the viewer's rule weights.")
    ai_enabled: bool = strawberry.field(
        description="Consent to send the viewer's hierarchy (never their account data) to the AI model; off "
        "until given. Off: insights come from the rules alone and say so."
    )

    @classmethod
    def of(cls, p: Preferences) -> HrmPreferences:
        return cls(
            explanation_detail=ExplanationDetail(p.explanation_detail),
            show_confidence=p.show_confidence,
            show_reasoning=p.show_reasoning,
            ai_personality=AiPersonality(p.ai_personality),
            communication_style=CommunicationStyle(p.communication_style),
            primary_optimisation=PrimaryOptimisation(p.primary_optimisation),
            work_hours_start=p.work_start,
            work_hours_end=p.work_end,
            work_days=[Weekday(d) for d in p.work_days],
            energy_pattern=EnergyPattern(p.energy_pattern),
            learning_enabled=p.learning_enabled,
            ai_enabled=p.ai_enabled,
        )


@strawberry.input(description="The viewer's own weight for a rule.")
class RuleWeightInput:
    rule_code: str = strawberry.field(description="The rule's code (see hrmRules).")
    weight: float | None = strawberry.field(
        description="0–1, or null to go back to the learned or base weight."
    )


@strawberry.input(description="Changes to the HRM preferences; fields left out stay as they are.")
class HrmPreferencesUpdateInput:
    explanation_detail: ExplanationDetail | None = strawberry.field(
        default=strawberry.UNSET, description="How much the HRM explains."
    )
    show_confidence: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether apps show confidence figures."
    )
    show_reasoning: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether `today` carries a coaching line."
    )
    ai_personality: AiPersonality | None = strawberry.field(
        default=strawberry.UNSET, description="Who the AI model speaks as."
    )
    communication_style: CommunicationStyle | None = strawberry.field(
        default=strawberry.UNSET, description="How the AI model speaks."
    )
    primary_optimisation: PrimaryOptimisation | None = strawberry.field(
        default=strawberry.UNSET, description="What analysis weighs first."
    )
    work_hours_start: time | None = strawberry.field(
        default=strawberry.UNSET, description="When the work day starts (wall clock, no UTC offset)."
    )
    work_hours_end: time | None = strawberry.field(
        default=strawberry.UNSET, description="When it ends (before the start: overnight; no UTC offset)."
    )
    work_days: list[Weekday] | None = strawberry.field(
        default=strawberry.UNSET, description="The days worked (at least one)."
    )
    energy_pattern: EnergyPattern | None = strawberry.field(
        default=strawberry.UNSET, description="When energy peaks."
    )
    learning_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether feedback moves the rule weights."
    )
    ai_enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Consent to send the hierarchy to the AI model."
    )
    rule_weights: list[RuleWeightInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Weights to set or clear (null weight) for these rules, each rule at most once.",
    )
    reset_learned_weights: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true: forget what was learned from feedback."
    )


COLUMNS = {"work_hours_start": "work_start", "work_hours_end": "work_end"}


@strawberry.type(description="The answer of hrmPreferencesUpdate.")
class HrmPreferencesPayload:
    preferences: HrmPreferences | None = strawberry.field(description="The preferences now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.enum(description="A verdict on a task's priority score.")
class PriorityVerdict(Enum):
    CORRECT = "CORRECT"
    TOO_HIGH = "TOO_HIGH"
    TOO_LOW = "TOO_LOW"


@strawberry.input(description="A verdict on a task's priority.")
class TaskPriorityFeedbackInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    verdict: PriorityVerdict = strawberry.field(description="Right, too high or too low.")
    comment: str | None = strawberry.field(default=None, description="Why, in the viewer's words (≤2000).")


@strawberry.type
class HrmSettingsQuery:
    @strawberry.field(description="The HRM's rules, with the viewer's effective weight for each.")
    async def hrm_rules(self, info: Info[Context, None]) -> list[HrmRule]:
        ctx = info.context
        async with ctx.reading() as session:
            return [HrmRule.of(w) for w in await rule_weights(session, ctx.user_id, active_only=False)]

    @strawberry.field(description="The viewer's HRM preferences (defaults until changed).")
    async def hrm_preferences(self, info: Info[Context, None]) -> HrmPreferences:
        ctx = info.context
        async with ctx.reading() as session:
            return HrmPreferences.of(await service.viewer_preferences(session, ctx.user_id))


@strawberry.type
class HrmSettingsMutation:
    @strawberry.mutation(description="Change the viewer's HRM preferences and rule weights.")
    async def hrm_preferences_update(
        self, info: Info[Context, None], input: Input[HrmPreferencesUpdateInput]
    ) -> HrmPreferencesPayload:
        values = provided(input, skip=("rule_weights", "reset_learned_weights"))
        columns = {COLUMNS.get(name, name): value for name, value in values.items()}
        weights = [(w.rule_code, w.weight) for w in input.rule_weights] if input.rule_weights else None

        async def work(uow: UnitOfWork) -> Preferences:
            await service.update_preferences(uow, columns, weights, input.reset_learned_weights is True)
            return await service.viewer_preferences(uow.session, uow.user_id)

        outcome = await run_mutation(info, work)
        found = HrmPreferences.of(outcome.value) if outcome.value is not None else None
        return HrmPreferencesPayload(preferences=found, user_errors=outcome.errors)

    @strawberry.mutation(
        description="Tell the HRM a task's priority is right, too high or too low: the verdict counts in "
        "its score at once and, with learning on, moves the viewer's rule weights (logged with the factors)."
    )
    async def task_priority_feedback(
        self, info: Info[Context, None], input: Input[TaskPriorityFeedbackInput]
    ) -> TaskPayload:
        async def work(uow: UnitOfWork) -> Any:
            task_id = decode_id(str(input.task_id), "Task", ["input", "taskId"])
            return await feedback.priority_feedback(uow, task_id, input.verdict.value, input.comment)

        return task_payload(await run_mutation(info, work))
