"""journal: entries (with the trash and full-text search) and the user's own templates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import create_definer_function, disable_tenant_isolation, enable_tenant_isolation

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as it was written: the title weighs A, the content B; 'simple' lowercases, nothing more.
VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(content, '')), 'B')"
)
TEMPLATE_TYPES = (
    "'daily_reflection', 'gratitude', 'goal_setting', 'weekly_review', 'mood_tracker', 'learning_log', "
    "'creative_writing', 'problem_solving', 'habit_tracker', 'custom'"
)
# Entries in the trash longer than p_keep, for every user at once (the app role sees one user at a time).
PURGE_TRASH = (
    "aurum_purge_journal_trash(p_keep interval)",
    "integer",
    """WITH gone AS (DELETE FROM journal_entries WHERE trashed_at < clock_timestamp() - p_keep RETURNING 1)
       SELECT count(*)::integer FROM gone""",
)


def upgrade() -> None:
    op.create_table(
        "journal_templates",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), server_default=sa.text("'custom'"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("prompts", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column(
            "default_tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 200", name=op.f("ck_journal_templates_name_length")
        ),
        sa.CheckConstraint(f"type IN ({TEMPLATE_TYPES})", name=op.f("ck_journal_templates_type_valid")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_journal_templates_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_templates")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_journal_templates_id_user_id")),
    )
    op.create_index("ix_journal_templates_user_list", "journal_templates", ["user_id", "name", "id"])
    op.create_table(
        "journal_entries",
        sa.Column("title", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        sa.Column("content", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("mood", sa.SmallInteger(), nullable=True),
        sa.Column("energy", sa.SmallInteger(), nullable=True),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=50)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("builtin_template", sa.String(length=40), nullable=True),
        sa.Column("template_answers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("word_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("sentiment_label", sa.String(length=10), nullable=True),
        sa.Column("sentiment_keywords", postgresql.ARRAY(sa.String(length=50)), nullable=True),
        sa.Column("sentiment_themes", postgresql.ARRAY(sa.String(length=50)), nullable=True),
        sa.Column("sentiment_source", sa.String(length=10), nullable=True),
        sa.Column("trashed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_vector", postgresql.TSVECTOR(), sa.Computed(VECTOR, persisted=True), nullable=False
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("char_length(title) <= 200", name=op.f("ck_journal_entries_title_length")),
        sa.CheckConstraint("char_length(content) <= 100000", name=op.f("ck_journal_entries_content_length")),
        sa.CheckConstraint(
            "mood IS NULL OR mood BETWEEN 1 AND 5", name=op.f("ck_journal_entries_mood_range")
        ),
        sa.CheckConstraint(
            "energy IS NULL OR energy BETWEEN 1 AND 5", name=op.f("ck_journal_entries_energy_range")
        ),
        sa.CheckConstraint("cardinality(tags) <= 20", name=op.f("ck_journal_entries_tags_count")),
        sa.CheckConstraint(
            f"builtin_template IS NULL OR builtin_template IN ({TEMPLATE_TYPES})",
            name=op.f("ck_journal_entries_builtin_template_valid"),
        ),
        sa.CheckConstraint(
            "template_id IS NULL OR builtin_template IS NULL", name=op.f("ck_journal_entries_one_template")
        ),
        sa.CheckConstraint(
            "sentiment_label IS NULL OR sentiment_label IN ('positive', 'neutral', 'negative')",
            name=op.f("ck_journal_entries_sentiment_label_valid"),
        ),
        sa.CheckConstraint(
            "sentiment_source IS NULL OR sentiment_source IN ('rules', 'llm')",
            name=op.f("ck_journal_entries_sentiment_source_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["journal_templates.id"],
            name=op.f("fk_journal_entries_template_id_journal_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_journal_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("id", "user_id", name=op.f("uq_journal_entries_id_user_id")),
    )
    op.create_index("ix_journal_entries_user_list", "journal_entries", ["user_id", "created_at", "id"])
    op.create_index("ix_journal_entries_template_id", "journal_entries", ["template_id"])
    op.create_index(
        "ix_journal_entries_search_vector", "journal_entries", ["search_vector"], postgresql_using="gin"
    )
    statements: list[str] = []
    statements += enable_tenant_isolation("journal_templates")
    statements += enable_tenant_isolation("journal_entries")
    statements += record_changes("journal_templates", "JOURNAL_TEMPLATE")
    # The vector follows title and content: it is no change of its own for the change log.
    statements += record_changes("journal_entries", "JOURNAL_ENTRY", ignored=("search_vector",))
    statements += create_definer_function(*PURGE_TRASH, volatility="VOLATILE")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {PURGE_TRASH[0]}")
    for table in ("journal_entries", "journal_templates"):
        for statement in [*stop_recording(table), *disable_tenant_isolation(table)]:
            op.execute(statement)
    op.drop_index("ix_journal_entries_search_vector", table_name="journal_entries", postgresql_using="gin")
    op.drop_index("ix_journal_entries_template_id", table_name="journal_entries")
    op.drop_index("ix_journal_entries_user_list", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_index("ix_journal_templates_user_list", table_name="journal_templates")
    op.drop_table("journal_templates")
