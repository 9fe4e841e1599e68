"""score changes: what changed since the scoring job last read, so that it rescores only what a change can
affect; the ratings the stored scores were computed with; recent completions indexed

The statement-level trigger that raised a person's score generation on any write to tasks, projects, areas,
pillars, dependencies and feedback is replaced by one per table and operation that sees the changed rows
(transition tables): it raises the generation of each owner of a changed row once, and notes in
``hrm_score_changes`` what changed, at that generation. Preferences, weights and the time zone still raise
the generation alone: they change every score (the job sees that they did from ``hrm_score_state.context``).

Score changes reach the change log as before (PRIORITY_SCORE, field ``score``), by one insert per statement
rather than a row trigger run once per row: a pass that moves a thousand scores writes them in one statement.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import disable_tenant_isolation, enable_tenant_isolation

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Per table: what each changed row names, as (kind, column).
NOTED = {
    "tasks": (("task", "id"), ("project", "project_id")),
    "task_dependencies": (("task", "task_id"),),
    "hrm_feedback": (("task", "task_id"),),
    "projects": (("project", "id"),),
    "areas": (("area", "id"),),
    "pillars": (("pillar", "id"),),
}
SOURCES = {
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", "SELECT * FROM new_rows"),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", "SELECT * FROM old_rows"),
    "UPDATE": (
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows",
    ),
}
# Rows going with their account (a cascade from users) leave nothing: the join on users drops them.
NOTE = """
  WITH changed AS ({source}),
  touched AS (
    SELECT DISTINCT c.user_id, v.kind, v.entity_id FROM changed c, LATERAL (VALUES {values}) AS v(kind, entity_id)
     WHERE v.entity_id IS NOT NULL),
  raised AS (
    INSERT INTO hrm_score_state AS s (user_id, generation)
    SELECT DISTINCT t.user_id, 1 FROM touched t JOIN users u ON u.id = t.user_id
    ON CONFLICT (user_id) DO UPDATE SET generation = s.generation + 1
    RETURNING s.user_id, s.generation)
  INSERT INTO hrm_score_changes (user_id, generation, kind, entity_id)
  SELECT t.user_id, r.generation, t.kind, t.entity_id FROM touched t JOIN raised r ON r.user_id = t.user_id;
"""


# As aurum_record_event records a score's change (aurum.events.triggers), for a statement's rows at once.
SCORE_EVENTS = """
CREATE FUNCTION aurum_record_score_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(o.user_id::text, 4242))
     FROM (SELECT DISTINCT user_id FROM new_rows ORDER BY user_id) o;
  INSERT INTO events
    (user_id, entity_type, entity_id, operation, changed_fields, actor_type, actor_id, request_id)
  SELECT n.user_id, 'PRIORITY_SCORE', n.task_id, 'UPDATED', ARRAY['score'],
         COALESCE(NULLIF(current_setting('app.actor', true), ''), 'system'),
         NULLIF(current_setting('app.actor_id', true), '')::uuid,
         NULLIF(current_setting('app.request_id', true), '')
    FROM new_rows n JOIN users u ON u.id = n.user_id
   ORDER BY n.task_id;
  RETURN NULL;
END
$fn$
"""
SCORE_OPERATIONS = ("INSERT", "UPDATE")


def _function(table: str) -> str:
    values = ", ".join(f"('{kind}', c.{column})" for kind, column in NOTED[table])
    branches = "\n  ELS".join(
        f"IF TG_OP = '{operation}' THEN{NOTE.format(source=source, values=values)}"
        for operation, (_, source) in SOURCES.items()
    )
    return (
        f"CREATE FUNCTION aurum_note_score_changes_{table}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        f"BEGIN\n  {branches}\n  END IF;\n  RETURN NULL;\nEND\n$fn$"
    )


def _triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER score_changes_{operation.lower()} AFTER {operation} ON {table} {referencing} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION aurum_note_score_changes_{table}()"
        for operation, (referencing, _) in SOURCES.items()
    ]


def upgrade() -> None:
    op.add_column("hrm_score_state", sa.Column("context", sa.String(length=64), nullable=True))
    op.add_column(
        "hrm_score_state",
        sa.Column("whole_pass_due", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "hrm_score_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('task', 'project', 'area', 'pillar')", name=op.f("ck_hrm_score_changes_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_hrm_score_changes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hrm_score_changes")),
    )
    op.create_index("ix_hrm_score_changes_user", "hrm_score_changes", ["user_id", "generation"])
    for level, parent in (("project", "projects"), ("pillar", "pillars")):
        table = f"hrm_{level}_ratings"
        op.create_table(
            table,
            sa.Column(f"{level}_id", sa.UUID(), nullable=False),
            sa.Column("user_id", sa.UUID(), nullable=False),
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(
                [f"{level}_id", "user_id"],
                [f"{parent}.id", f"{parent}.user_id"],
                name=op.f(f"fk_{table}_{level}_id_user_id_{parent}"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(f"{level}_id", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_user", table, ["user_id", f"{level}_id"])
    op.create_index(
        "ix_tasks_user_completed",
        "tasks",
        ["user_id", "completed_at"],
        postgresql_where=sa.text("completed_at IS NOT NULL"),
    )
    for table in ("hrm_score_changes", "hrm_project_ratings", "hrm_pillar_ratings"):
        for statement in enable_tenant_isolation(table):
            op.execute(statement)
    for table in NOTED:
        op.execute(f"DROP TRIGGER scores_stale ON {table}")
        op.execute(_function(table))
        for statement in _triggers(table):
            op.execute(statement)
    for statement in stop_recording("task_scores"):
        op.execute(statement)
    op.execute(SCORE_EVENTS)
    for operation in SCORE_OPERATIONS:
        op.execute(
            f"CREATE TRIGGER record_score_changes_{operation.lower()} AFTER {operation} ON task_scores "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aurum_record_score_events()"
        )


def downgrade() -> None:
    for operation in SCORE_OPERATIONS:
        op.execute(f"DROP TRIGGER record_score_changes_{operation.lower()} ON task_scores")
    op.execute("DROP FUNCTION aurum_record_score_events()")
    for statement in record_changes(
        "task_scores", "PRIORITY_SCORE", entity_column="task_id", as_field="score", on="INSERT OR UPDATE"
    ):
        op.execute(statement)
    for table in NOTED:
        for operation in SOURCES:
            op.execute(f"DROP TRIGGER score_changes_{operation.lower()} ON {table}")
        op.execute(f"DROP FUNCTION aurum_note_score_changes_{table}()")
        op.execute(
            f"CREATE TRIGGER scores_stale AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION aurum_scores_stale()"
        )
    for table in ("hrm_score_changes", "hrm_project_ratings", "hrm_pillar_ratings"):
        for statement in disable_tenant_isolation(table):
            op.execute(statement)
    op.drop_index(
        "ix_tasks_user_completed", table_name="tasks", postgresql_where=sa.text("completed_at IS NOT NULL")
    )
    for table in ("hrm_pillar_ratings", "hrm_project_ratings"):
        op.drop_index(f"ix_{table}_user", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_hrm_score_changes_user", table_name="hrm_score_changes")
    op.drop_table("hrm_score_changes")
    op.drop_column("hrm_score_state", "whole_pass_due")
    op.drop_column("hrm_score_state", "context")
