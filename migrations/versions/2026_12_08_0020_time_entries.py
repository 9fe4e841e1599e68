"""time entries: timers and manual entries on tasks (one running timer per person; a closed task's timer
stops), so that time spent is known and estimates can learn from it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import disable_tenant_isolation, enable_tenant_isolation

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STOP_TIMERS = """
CREATE FUNCTION aurum_stop_timers() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE time_entries SET ended_at = greatest(now(), started_at + interval '1 second'),
         version = version + 1, updated_at = now()
   WHERE task_id = NEW.id AND ended_at IS NULL;
  RETURN NULL;
END
$fn$
"""


def upgrade() -> None:
    op.create_table(
        "time_entries",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("source IN ('timer', 'manual')", name=op.f("ck_time_entries_source_valid")),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at > started_at", name=op.f("ck_time_entries_ends_after_start")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at - started_at <= interval '24 hours'",
            name=op.f("ck_time_entries_at_most_a_day"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_time_entries_task_id_user_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_time_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_entries")),
    )
    op.create_index(
        "ix_time_entries_task_id_user_id_started_at", "time_entries", ["task_id", "user_id", "started_at"]
    )
    op.create_index("ix_time_entries_user_id_started_at", "time_entries", ["user_id", "started_at"])
    op.create_index(
        "uq_time_entries_running",
        "time_entries",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    statements = [*enable_tenant_isolation("time_entries"), *record_changes("time_entries", "TIME_ENTRY")]
    statements += [
        STOP_TIMERS,
        "CREATE TRIGGER stop_timers AFTER UPDATE OF status ON tasks FOR EACH ROW"
        " WHEN (NEW.status IN ('completed', 'skipped') AND OLD.status NOT IN ('completed', 'skipped'))"
        " EXECUTE FUNCTION aurum_stop_timers()",
    ]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER stop_timers ON tasks")
    op.execute("DROP FUNCTION aurum_stop_timers()")
    for statement in [*stop_recording("time_entries"), *disable_tenant_isolation("time_entries")]:
        op.execute(statement)
    op.drop_index("uq_time_entries_running", table_name="time_entries")
    op.drop_index("ix_time_entries_user_id_started_at", table_name="time_entries")
    op.drop_index("ix_time_entries_task_id_user_id_started_at", table_name="time_entries")
    op.drop_table("time_entries")
