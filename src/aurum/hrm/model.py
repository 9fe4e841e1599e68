"""The HRM's tables: its rules (global data), each person's preferences, weights, scores, analysis runs,
insights, feedback and AI usage."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aurum.hrm.findings import INSIGHT_TYPES, SCOPE_TYPES
from aurum.hrm.preferences import DETAIL_LEVELS, ENERGY_PATTERNS, OPTIMISATIONS, PERSONALITIES, STYLES
from aurum.models import Base, UserOwned, one_of

RULE_KINDS = ("scoring", "temporal", "constraint", "relationship", "pattern")
RULE_LEVELS = ("task", "project", "area", "pillar", "global")
DEPTHS = ("quick", "balanced", "deep")
RUN_STATUSES = ("queued", "running", "succeeded", "failed")
PENDING_STATUSES = ("queued", "running")
INSIGHT_STATUSES = ("active", "dismissed", "expired")
SOURCES = ("rules", "llm")
INSIGHT_VERDICTS = ("accepted", "rejected", "modified", "ignored")
PRIORITY_VERDICTS = ("correct", "too_high", "too_low")


def _now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=text("now()"))


def _owner_column() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class HrmRule(Base):
    """A rule of the HRM. Global data, seeded by migrations; the app role may only read it."""

    __tablename__ = "hrm_rules"
    __table_args__ = (
        CheckConstraint("base_weight BETWEEN 0 AND 1", name="base_weight_range"),
        CheckConstraint(one_of("kind", RULE_KINDS), name="kind_valid"),
        CheckConstraint(one_of("level", RULE_LEVELS), name="level_valid"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    applies_to: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    kind: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    base_weight: Mapped[float] = mapped_column(Float)
    user_adjustable: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    requires_llm: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _now_column()
    updated_at: Mapped[datetime] = _now_column()


class HrmPreferences(UserOwned, Base):
    __tablename__ = "hrm_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", name="uq_hrm_preferences_user_id"),
        CheckConstraint(one_of("explanation_detail", DETAIL_LEVELS), name="detail_valid"),
        CheckConstraint(one_of("ai_personality", PERSONALITIES), name="personality_valid"),
        CheckConstraint(one_of("communication_style", STYLES), name="style_valid"),
        CheckConstraint(one_of("primary_optimisation", OPTIMISATIONS), name="optimisation_valid"),
        CheckConstraint(one_of("energy_pattern", ENERGY_PATTERNS), name="energy_pattern_valid"),
        CheckConstraint("work_start <> work_end", name="work_hours_valid"),
        CheckConstraint(
            "cardinality(work_days) BETWEEN 1 AND 7 AND work_days <@ ARRAY[0,1,2,3,4,5,6]::smallint[]",
            name="work_days_valid",
        ),
    )

    explanation_detail: Mapped[str] = mapped_column(String(16), server_default=text("'balanced'"))
    show_confidence: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    show_reasoning: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    ai_personality: Mapped[str] = mapped_column(String(16), server_default=text("'coach'"))
    communication_style: Mapped[str] = mapped_column(String(16), server_default=text("'encouraging'"))
    primary_optimisation: Mapped[str] = mapped_column(String(16), server_default=text("'balance'"))
    work_start: Mapped[time] = mapped_column(Time, server_default=text("'09:00'"))
    work_end: Mapped[time] = mapped_column(Time, server_default=text("'17:00'"))
    work_days: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default=text("'{0,1,2,3,4}'"))
    energy_pattern: Mapped[str] = mapped_column(String(16), server_default=text("'morning_peak'"))
    learning_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    ai_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class HrmRuleWeight(Base):
    """A person's own weight for a rule: set by them (override) or learned from their feedback."""

    __tablename__ = "hrm_rule_weights"
    __table_args__ = (
        Index("ix_hrm_rule_weights_rule_code", "rule_code"),
        CheckConstraint("override_weight IS NULL OR override_weight BETWEEN 0 AND 1", name="override_range"),
        CheckConstraint("learned_weight IS NULL OR learned_weight BETWEEN 0 AND 1", name="learned_range"),
    )

    user_id: Mapped[uuid.UUID] = _owner_column()
    rule_code: Mapped[str] = mapped_column(
        String(40), ForeignKey("hrm_rules.code", ondelete="CASCADE"), primary_key=True
    )
    override_weight: Mapped[float | None] = mapped_column(Float)
    learned_weight: Mapped[float | None] = mapped_column(Float)
    feedback_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[datetime] = _now_column()


class TaskScore(Base):
    """A task's priority score as last computed, with the factors that explain it."""

    __tablename__ = "task_scores"
    __table_args__ = (
        ForeignKeyConstraint(["task_id", "user_id"], ["tasks.id", "tasks.user_id"], ondelete="CASCADE"),
        Index("ix_task_scores_task_id_user_id", "task_id", "user_id"),
        Index("ix_task_scores_user_ranking", "user_id", "value", "task_id"),
        CheckConstraint("value BETWEEN 0 AND 100", name="value_range"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    computed_at: Mapped[datetime] = _now_column()


class ScoreState(Base):
    """Whether a person's scores are current: any change they depend on raises ``generation`` (a trigger);
    the scoring job brings ``scored_generation`` up to what it read."""

    __tablename__ = "hrm_score_state"

    user_id: Mapped[uuid.UUID] = _owner_column()
    generation: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    scored_generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the stored scores were computed under (rules, weights, energy pattern, time zone; see
    # aurum.hrm.ratings): unset, the next pass rescores everything.
    context: Mapped[str | None] = mapped_column(String(64))
    # Set by the hourly refresh: the next pass rescores everything (the clock moved every score a little).
    whole_pass_due: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


CHANGE_KINDS = ("task", "project", "area", "pillar")


class ScoreChange(Base):
    """A record a score may depend on changed since the scoring job last read: a trigger writes one row per
    changed task, project, area or pillar (a changed task also names its project, a dependency or a verdict
    its task), with the generation it raised; the job rescores what they can affect and drops them."""

    __tablename__ = "hrm_score_changes"
    __table_args__ = (
        Index("ix_hrm_score_changes_user", "user_id", "generation"),
        CheckConstraint(one_of("kind", CHANGE_KINDS), name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class ProjectRating(Base):
    """What every task of a project shares in its score (the ratings of the project's rules, as a key), as
    the stored scores have it: a change of the project's key means its tasks' scores moved."""

    __tablename__ = "hrm_project_ratings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "user_id"], ["projects.id", "projects.user_id"], ondelete="CASCADE"
        ),
        Index("ix_hrm_project_ratings_user", "user_id", "project_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    key: Mapped[str] = mapped_column(String(64))


class PillarRating(Base):
    """What every task below a pillar shares in its score (the ratings of the pillar's rules), as stored."""

    __tablename__ = "hrm_pillar_ratings"
    __table_args__ = (
        ForeignKeyConstraint(["pillar_id", "user_id"], ["pillars.id", "pillars.user_id"], ondelete="CASCADE"),
        Index("ix_hrm_pillar_ratings_user", "user_id", "pillar_id"),
    )

    pillar_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    key: Mapped[str] = mapped_column(String(64))


class AnalysisRun(UserOwned, Base):
    __tablename__ = "analysis_runs"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index("ix_analysis_runs_user_list", "user_id", "created_at", "id"),
        # One pending run per identical request: a second identical request returns the first.
        Index(
            "ix_analysis_runs_pending_request",
            "user_id",
            "input_hash",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index(
            "ix_analysis_runs_pending", "created_at", postgresql_where=text("status IN ('queued', 'running')")
        ),
        CheckConstraint(one_of("scope_type", SCOPE_TYPES), name="scope_type_valid"),
        CheckConstraint("(scope_type = 'global') = (scope_id IS NULL)", name="scope_id_set"),
        CheckConstraint(one_of("depth", DEPTHS), name="depth_valid"),
        CheckConstraint(one_of("status", RUN_STATUSES), name="status_valid"),
    )

    scope_type: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    depth: Mapped[str] = mapped_column(String(16), server_default=text("'balanced'"))
    force: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'queued'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    input_hash: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # Why the model was not asked, or its answer not used (null when it was, or when the depth asks for none).
    model_note: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Insight(UserOwned, Base):
    __tablename__ = "insights"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        # Completing a run twice never writes its insights twice.
        UniqueConstraint("run_id", "dedupe_key"),
        ForeignKeyConstraint(
            ["run_id", "user_id"], ["analysis_runs.id", "analysis_runs.user_id"], ondelete="CASCADE"
        ),
        Index("ix_insights_run", "run_id", "user_id"),
        Index("ix_insights_user_list", "user_id", "created_at", "id"),
        Index("ix_insights_user_scope", "user_id", "scope_id"),
        # The store's lookup of the latest standing insight with the same key (hrm/store.py, _standing).
        Index(
            "ix_insights_user_key",
            "user_id",
            "dedupe_key",
            "created_at",
            postgresql_where=text("status IN ('active', 'dismissed')"),
        ),
        Index("ix_insights_expiring", "expires_at", postgresql_where=text("status = 'active'")),
        CheckConstraint(one_of("scope_type", SCOPE_TYPES), name="scope_type_valid"),
        CheckConstraint(one_of("type", INSIGHT_TYPES), name="type_valid"),
        CheckConstraint(one_of("status", INSIGHT_STATUSES), name="status_valid"),
        CheckConstraint(one_of("source", SOURCES), name="source_valid"),
        CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence_range"),
        CheckConstraint("impact BETWEEN 0 AND 1", name="impact_range"),
        CheckConstraint("cardinality(recommendations) <= 5", name="at_most_five_recommendations"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    rule_code: Mapped[str | None] = mapped_column(String(40))
    scope_type: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    impact: Mapped[float] = mapped_column(Float)
    reasoning_path: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    recommendations: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), server_default=text("'{}'"))
    source: Mapped[str] = mapped_column(String(8), server_default=text("'rules'"))
    model: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    pinned: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HrmFeedback(UserOwned, Base):
    """A verdict on an insight or on a task's priority, with the factors as they were (the learning log)."""

    __tablename__ = "hrm_feedback"
    __table_args__ = (
        ForeignKeyConstraint(["insight_id"], ["insights.id"], ondelete="SET NULL"),
        ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL"),
        Index("ix_hrm_feedback_insight_id", "insight_id"),
        Index("ix_hrm_feedback_task_id", "task_id", "created_at"),
        Index("ix_hrm_feedback_user_list", "user_id", "created_at"),
        CheckConstraint(one_of("verdict", INSIGHT_VERDICTS + PRIORITY_VERDICTS), name="verdict_valid"),
    )

    insight_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    task_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    verdict: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    adjusted_score: Mapped[float | None] = mapped_column(Float)
    # The factors at the time and the weights before and after: what was learned, and from what.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class AiUsage(Base):
    """Calls to the AI model per person and calendar month (UTC), against the monthly quota."""

    __tablename__ = "ai_usage"

    user_id: Mapped[uuid.UUID] = _owner_column()
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cached_calls: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    input_tokens: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    output_tokens: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[datetime] = _now_column()
