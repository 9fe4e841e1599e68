"""hrm: rules (seeded), preferences, rule weights, task scores, analysis runs, insights, feedback, AI usage

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:00:00.000000+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import (
    APP_ROLE,
    CURRENT_USER_ID,
    create_definer_function,
    disable_tenant_isolation,
    enable_tenant_isolation,
)

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code, name, kind, level, applies to, base weight, requires the model, config, description
RULES = [
    (
        "URGENCY",
        "Urgency",
        "temporal",
        "task",
        ["task"],
        0.9,
        False,
        {"overdue": 1.0, "day": 0.9, "three_days": 0.7, "week": 0.5, "later": 0.2, "none": 0.0},
        "How soon the task is due, in your time zone: overdue 1.0, within 24 h 0.9, 72 h 0.7, a week 0.5, later 0.2, no due date 0.",
    ),
    (
        "PILLAR_ALIGNMENT",
        "Pillar alignment",
        "relationship",
        "task",
        ["task"],
        0.7,
        False,
        {"unaligned": 0.3, "vision_words": 12},
        "How much the task's pillar, area and project matter to you: 0.4 × pillar time allocation + 0.3 × vision strength + 0.2 × area importance/5 + 0.1 × project importance/5; 0.3 when the pillar has neither allocation nor vision.",
    ),
    (
        "EXPLICIT_PRIORITY",
        "Your priority",
        "scoring",
        "task",
        ["task"],
        0.8,
        False,
        {"low": 0.25, "medium": 0.5, "high": 0.75, "urgent": 1.0},
        "The priority you gave the task: low 0.25, medium 0.5, high 0.75, urgent 1.0.",
    ),
    (
        "DEPENDENCIES",
        "Dependencies",
        "constraint",
        "task",
        ["task"],
        0.6,
        False,
        {"blocked": 0.1, "ready": 0.8, "none": 0.5},
        "Whether the task can start: blocked by an open task 0.1, ready because everything it waited for is done 0.8, waiting for nothing 0.5.",
    ),
    (
        "ENERGY_MATCH",
        "Energy match",
        "pattern",
        "task",
        ["task"],
        0.4,
        False,
        {},
        "The energy the task takes against your energy pattern and the hour in your time zone: high-energy work at your peak, light work off it. Not applied without an energy level or with a steady pattern.",
    ),
    (
        "PROJECT_MOMENTUM",
        "Project momentum",
        "relationship",
        "task",
        ["task"],
        0.5,
        False,
        {"near_completion": 0.75, "stalled_days": 14},
        "How the task's project is moving: near completion (75 %) 0.9, stalled (nothing completed for 14 days) 0.3, otherwise 0.5 + 0.3 × completion.",
    ),
    (
        "TASK_AGE",
        "Task age",
        "temporal",
        "task",
        ["task"],
        0.3,
        False,
        {"old_days": 30},
        "How long the task has been open: from 0.3 when new to 0.9 after 30 days.",
    ),
    (
        "WORK_LIFE_BALANCE",
        "Work-life balance",
        "pattern",
        "task",
        ["task"],
        0.5,
        False,
        {},
        "The task's pillar's share of your completed effort over the last 30 days against its planned share: 0.5 + (planned − actual).",
    ),
    (
        "USER_FEEDBACK",
        "Your feedback",
        "scoring",
        "task",
        ["task"],
        0.6,
        False,
        {},
        "Your latest verdict on the task's priority: too high 0, too low 1. Not applied before you give one.",
    ),
    (
        "OVERDUE_CLUSTER",
        "Overdue cluster",
        "temporal",
        "project",
        ["project", "area", "pillar", "global"],
        0.8,
        False,
        {},
        "Several overdue tasks gathering in one place.",
    ),
    (
        "STALLED_PROJECT",
        "Stalled project",
        "pattern",
        "project",
        ["project", "area", "pillar", "global"],
        0.7,
        False,
        {},
        "A project with open tasks and nothing completed for two weeks.",
    ),
    (
        "NEGLECTED_PILLAR",
        "Neglected pillar",
        "pattern",
        "pillar",
        ["pillar", "global"],
        0.7,
        False,
        {},
        "A pillar getting far less of your completed effort than the time you allocated to it.",
    ),
    (
        "OVERLOAD",
        "Overload",
        "constraint",
        "global",
        ["task", "project", "area", "pillar", "global"],
        0.8,
        False,
        {},
        "More estimated work due this week than your work hours hold.",
    ),
    (
        "BLOCKED_CHAIN",
        "Blocked chain",
        "constraint",
        "project",
        ["task", "project", "area", "pillar", "global"],
        0.7,
        False,
        {},
        "Tasks waiting on tasks that wait on others, or one task holding up many.",
    ),
    (
        "PILLAR_IMBALANCE",
        "Pillar imbalance",
        "pattern",
        "global",
        ["global"],
        0.6,
        False,
        {},
        "Your completed effort spread over your pillars far from the spread you planned.",
    ),
    (
        "QUICK_WINS",
        "Quick wins",
        "pattern",
        "project",
        ["project", "area", "pillar", "global"],
        0.5,
        False,
        {},
        "Short tasks ready to start that clear the way.",
    ),
    (
        "AI_ADVICE",
        "AI advice",
        "pattern",
        "global",
        ["task", "project", "area", "pillar", "global"],
        0.6,
        True,
        {},
        "Insights the AI model adds to the rules' findings, when you allow it and the depth asks for it.",
    ),
]

SCORED_TABLES = (
    "tasks",
    "projects",
    "areas",
    "pillars",
    "task_dependencies",
    "hrm_preferences",
    "hrm_rule_weights",
    "hrm_feedback",
)
# Any change a score depends on makes the acting user's scores stale (one upsert per statement, not per row).
MARK_STALE = f"""
CREATE FUNCTION aurum_scores_stale() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO hrm_score_state (user_id, generation)
  SELECT u.id, 1 FROM users u WHERE u.id = {CURRENT_USER_ID}
  ON CONFLICT (user_id) DO UPDATE SET generation = hrm_score_state.generation + 1;
  RETURN NULL;
END
$fn$
"""
# Users whose scores are behind their data, for the sweep (the app role sees one user at a time).
STALE_USERS = (
    "aurum_stale_score_users(p_limit integer)",
    "TABLE (user_id uuid, generation bigint)",
    "SELECT user_id, generation FROM hrm_score_state WHERE generation > scored_generation LIMIT p_limit",
)
# Users with open tasks, for the hourly refresh of time-dependent scores.
OPEN_TASK_USERS = (
    "aurum_open_task_users()",
    "TABLE (user_id uuid)",
    "SELECT DISTINCT user_id FROM tasks WHERE status NOT IN ('completed', 'skipped')",
)
# Analysis runs still pending after the cutoff, for the sweep that re-enqueues them after a crash.
PENDING_RUNS = (
    "aurum_pending_analysis_runs(p_before timestamptz)",
    "TABLE (id uuid, user_id uuid)",
    "SELECT id, user_id FROM analysis_runs WHERE status IN ('queued', 'running') AND updated_at < p_before",
)
# Users with active insights past their expiry (pinned ones stay), for the job that expires them user by user.
EXPIRING = (
    "aurum_users_with_expiring_insights(p_now timestamptz)",
    "TABLE (user_id uuid)",
    "SELECT DISTINCT user_id FROM insights WHERE status = 'active' AND NOT pinned AND expires_at <= p_now",
)
FUNCTIONS = [STALE_USERS, OPEN_TASK_USERS, PENDING_RUNS, EXPIRING]
OWNED = (
    "hrm_preferences",
    "hrm_rule_weights",
    "task_scores",
    "hrm_score_state",
    "analysis_runs",
    "insights",
    "hrm_feedback",
    "ai_usage",
)


def upgrade() -> None:
    op.create_table(
        "hrm_rules",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("applies_to", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "config", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("base_weight", sa.Float(), nullable=False),
        sa.Column("user_adjustable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("requires_llm", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('scoring', 'temporal', 'constraint', 'relationship', 'pattern')",
            name=op.f("ck_hrm_rules_kind_valid"),
        ),
        sa.CheckConstraint(
            "level IN ('task', 'project', 'area', 'pillar', 'global')", name=op.f("ck_hrm_rules_level_valid")
        ),
        sa.CheckConstraint("base_weight BETWEEN 0 AND 1", name=op.f("ck_hrm_rules_base_weight_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_hrm_rules")),
    )
    op.create_table(
        "ai_usage",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cached_calls", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("input_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("output_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ai_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "month", name=op.f("pk_ai_usage")),
    )
    op.create_table(
        "analysis_runs",
        sa.Column("scope_type", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.UUID(), nullable=True),
        sa.Column("depth", sa.String(length=16), server_default=sa.text("'balanced'"), nullable=False),
        sa.Column("force", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_note", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "(scope_type = 'global') = (scope_id IS NULL)", name=op.f("ck_analysis_runs_scope_id_set")
        ),
        sa.CheckConstraint(
            "depth IN ('quick', 'balanced', 'deep')", name=op.f("ck_analysis_runs_depth_valid")
        ),
        sa.CheckConstraint(
            "scope_type IN ('global', 'pillar', 'area', 'project', 'task')",
            name=op.f("ck_analysis_runs_scope_type_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_analysis_runs_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_analysis_runs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_analysis_runs_id_user_id")),
    )
    op.create_index(
        "ix_analysis_runs_pending",
        "analysis_runs",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index(
        "ix_analysis_runs_pending_request",
        "analysis_runs",
        ["user_id", "input_hash"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index(
        "ix_analysis_runs_user_list", "analysis_runs", ["user_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "hrm_preferences",
        sa.Column(
            "explanation_detail", sa.String(length=16), server_default=sa.text("'balanced'"), nullable=False
        ),
        sa.Column("show_confidence", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("show_reasoning", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("ai_personality", sa.String(length=16), server_default=sa.text("'coach'"), nullable=False),
        sa.Column(
            "communication_style",
            sa.String(length=16),
            server_default=sa.text("'encouraging'"),
            nullable=False,
        ),
        sa.Column(
            "primary_optimisation", sa.String(length=16), server_default=sa.text("'balance'"), nullable=False
        ),
        sa.Column("work_start", sa.Time(), server_default=sa.text("'09:00'"), nullable=False),
        sa.Column("work_end", sa.Time(), server_default=sa.text("'17:00'"), nullable=False),
        sa.Column(
            "work_days",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{0,1,2,3,4}'"),
            nullable=False,
        ),
        sa.Column(
            "energy_pattern", sa.String(length=16), server_default=sa.text("'morning_peak'"), nullable=False
        ),
        sa.Column("learning_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("ai_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "ai_personality IN ('coach', 'assistant', 'strategist', 'motivator')",
            name=op.f("ck_hrm_preferences_personality_valid"),
        ),
        sa.CheckConstraint(
            "communication_style IN ('direct', 'encouraging', 'analytical', 'socratic')",
            name=op.f("ck_hrm_preferences_style_valid"),
        ),
        sa.CheckConstraint(
            "energy_pattern IN ('morning_peak', 'afternoon_peak', 'evening_peak', 'steady')",
            name=op.f("ck_hrm_preferences_energy_pattern_valid"),
        ),
        sa.CheckConstraint(
            "explanation_detail IN ('minimal', 'balanced', 'detailed')",
            name=op.f("ck_hrm_preferences_detail_valid"),
        ),
        sa.CheckConstraint(
            "primary_optimisation IN ('balance', 'focus', 'exploration', 'efficiency', 'wellbeing')",
            name=op.f("ck_hrm_preferences_optimisation_valid"),
        ),
        sa.CheckConstraint(
            "cardinality(work_days) BETWEEN 1 AND 7 AND work_days <@ ARRAY[0,1,2,3,4,5,6]::smallint[]",
            name=op.f("ck_hrm_preferences_work_days_valid"),
        ),
        sa.CheckConstraint("work_start <> work_end", name=op.f("ck_hrm_preferences_work_hours_valid")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hrm_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hrm_preferences")),
        sa.UniqueConstraint("user_id", name="uq_hrm_preferences_user_id"),
    )
    op.create_table(
        "hrm_rule_weights",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("override_weight", sa.Float(), nullable=True),
        sa.Column("learned_weight", sa.Float(), nullable=True),
        sa.Column("feedback_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "learned_weight IS NULL OR learned_weight BETWEEN 0 AND 1",
            name=op.f("ck_hrm_rule_weights_learned_range"),
        ),
        sa.CheckConstraint(
            "override_weight IS NULL OR override_weight BETWEEN 0 AND 1",
            name=op.f("ck_hrm_rule_weights_override_range"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_code"],
            ["hrm_rules.code"],
            name=op.f("fk_hrm_rule_weights_rule_code_hrm_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hrm_rule_weights_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "rule_code", name=op.f("pk_hrm_rule_weights")),
    )
    op.create_index("ix_hrm_rule_weights_rule_code", "hrm_rule_weights", ["rule_code"], unique=False)
    op.create_table(
        "hrm_score_state",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("scored_generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hrm_score_state_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_hrm_score_state")),
    )
    op.create_table(
        "insights",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=True),
        sa.Column("scope_type", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.UUID(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("impact", sa.Float(), nullable=False),
        sa.Column(
            "reasoning_path",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "recommendations", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=50)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("source", sa.String(length=8), server_default=sa.text("'rules'"), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "scope_type IN ('global', 'pillar', 'area', 'project', 'task')",
            name=op.f("ck_insights_scope_type_valid"),
        ),
        sa.CheckConstraint("source IN ('rules', 'llm')", name=op.f("ck_insights_source_valid")),
        sa.CheckConstraint(
            "status IN ('active', 'dismissed', 'expired')", name=op.f("ck_insights_status_valid")
        ),
        sa.CheckConstraint(
            "type IN ('priority_reasoning', 'alignment_analysis', 'pattern_recognition', 'recommendation', 'goal_coherence', 'time_allocation', 'progress_prediction', 'obstacle_identification')",
            name=op.f("ck_insights_type_valid"),
        ),
        sa.CheckConstraint(
            "cardinality(recommendations) <= 5", name=op.f("ck_insights_at_most_five_recommendations")
        ),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name=op.f("ck_insights_title_length")),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name=op.f("ck_insights_confidence_range")),
        sa.CheckConstraint("impact BETWEEN 0 AND 1", name=op.f("ck_insights_impact_range")),
        sa.ForeignKeyConstraint(
            ["run_id", "user_id"],
            ["analysis_runs.id", "analysis_runs.user_id"],
            name=op.f("fk_insights_run_id_user_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_insights_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insights")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_insights_id_user_id")),
        sa.UniqueConstraint("run_id", "dedupe_key", name=op.f("uq_insights_run_id_dedupe_key")),
    )
    op.create_index(
        "ix_insights_expiring",
        "insights",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_insights_run", "insights", ["run_id", "user_id"], unique=False)
    op.create_index("ix_insights_user_list", "insights", ["user_id", "created_at", "id"], unique=False)
    op.create_index("ix_insights_user_scope", "insights", ["user_id", "scope_id"], unique=False)
    op.create_table(
        "hrm_feedback",
        sa.Column("insight_id", sa.UUID(), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("adjusted_score", sa.Float(), nullable=True),
        sa.Column(
            "snapshot",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "verdict IN ('accepted', 'rejected', 'modified', 'ignored', 'correct', 'too_high', 'too_low')",
            name=op.f("ck_hrm_feedback_verdict_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["insight_id"],
            ["insights.id"],
            name=op.f("fk_hrm_feedback_insight_id_insights"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_hrm_feedback_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hrm_feedback_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hrm_feedback")),
    )
    op.create_index("ix_hrm_feedback_insight_id", "hrm_feedback", ["insight_id"], unique=False)
    op.create_index("ix_hrm_feedback_task_id", "hrm_feedback", ["task_id", "created_at"], unique=False)
    op.create_index("ix_hrm_feedback_user_list", "hrm_feedback", ["user_id", "created_at"], unique=False)
    op.create_table(
        "task_scores",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("factors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("value BETWEEN 0 AND 100", name=op.f("ck_task_scores_value_range")),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_task_scores_task_id_user_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_task_scores_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_scores")),
    )
    op.create_index("ix_task_scores_task_id_user_id", "task_scores", ["task_id", "user_id"], unique=False)
    op.create_index(
        "ix_task_scores_user_ranking", "task_scores", ["user_id", "value", "task_id"], unique=False
    )

    rules = sa.table(
        "hrm_rules",
        sa.column("code"),
        sa.column("name"),
        sa.column("kind"),
        sa.column("level"),
        sa.column("applies_to", postgresql.ARRAY(sa.String())),
        sa.column("base_weight"),
        sa.column("requires_llm"),
        sa.column("config", postgresql.JSONB()),
        sa.column("description"),
    )
    op.bulk_insert(
        rules,
        [
            {
                "code": c,
                "name": n,
                "kind": k,
                "level": lv,
                "applies_to": a,
                "base_weight": w,
                "requires_llm": llm,
                "config": json.loads(json.dumps(cfg)),
                "description": d,
            }
            for c, n, k, lv, a, w, llm, cfg, d in RULES
        ],
    )
    statements = [f"REVOKE INSERT, UPDATE, DELETE ON hrm_rules FROM {APP_ROLE}"]
    for table in OWNED:
        statements += enable_tenant_isolation(table)
    statements += record_changes("insights", "INSIGHT")
    statements += record_changes("analysis_runs", "ANALYSIS_RUN", ignored=("input_hash", "force"))
    # A removed score leaves no event of its own: it went with its task, or the task closed (the task's event).
    statements += record_changes(
        "task_scores", "PRIORITY_SCORE", entity_column="task_id", as_field="score", on="INSERT OR UPDATE"
    )
    statements.append(MARK_STALE)
    for table in SCORED_TABLES:
        statements.append(
            f"CREATE TRIGGER scores_stale AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION aurum_scores_stale()"
        )
    statements.append(
        "CREATE TRIGGER scores_stale AFTER UPDATE OF timezone ON users "
        "FOR EACH STATEMENT EXECUTE FUNCTION aurum_scores_stale()"
    )
    for function in FUNCTIONS:
        statements += create_definer_function(*function)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function[0]}")
    for table in (*SCORED_TABLES, "users"):
        op.execute(f"DROP TRIGGER IF EXISTS scores_stale ON {table}")
    op.execute("DROP FUNCTION aurum_scores_stale()")
    for table in ("insights", "analysis_runs", "task_scores"):
        for statement in stop_recording(table):
            op.execute(statement)
    for table in OWNED:
        for statement in disable_tenant_isolation(table):
            op.execute(statement)
    op.drop_index("ix_task_scores_user_ranking", table_name="task_scores")
    op.drop_index("ix_task_scores_task_id_user_id", table_name="task_scores")
    op.drop_table("task_scores")
    op.drop_index("ix_hrm_feedback_user_list", table_name="hrm_feedback")
    op.drop_index("ix_hrm_feedback_task_id", table_name="hrm_feedback")
    op.drop_index("ix_hrm_feedback_insight_id", table_name="hrm_feedback")
    op.drop_table("hrm_feedback")
    op.drop_index("ix_insights_user_scope", table_name="insights")
    op.drop_index("ix_insights_user_list", table_name="insights")
    op.drop_index("ix_insights_run", table_name="insights")
    op.drop_index(
        "ix_insights_expiring", table_name="insights", postgresql_where=sa.text("status = 'active'")
    )
    op.drop_table("insights")
    op.drop_table("hrm_score_state")
    op.drop_index("ix_hrm_rule_weights_rule_code", table_name="hrm_rule_weights")
    op.drop_table("hrm_rule_weights")
    op.drop_table("hrm_preferences")
    op.drop_index("ix_analysis_runs_user_list", table_name="analysis_runs")
    op.drop_index(
        "ix_analysis_runs_pending_request",
        table_name="analysis_runs",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_index(
        "ix_analysis_runs_pending",
        table_name="analysis_runs",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_table("analysis_runs")
    op.drop_table("ai_usage")
    op.drop_table("hrm_rules")
