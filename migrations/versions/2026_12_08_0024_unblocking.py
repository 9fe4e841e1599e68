"""unblocking: a task others wait for ranks up by what waits (UNBLOCKING, a scoring rule); a dependency added
or removed notes the task waited for too, so that the scoring job rescores it

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = sa.table(
    "hrm_rules",
    sa.column("code"),
    sa.column("name"),
    sa.column("kind"),
    sa.column("level"),
    sa.column("applies_to", postgresql.ARRAY(sa.String())),
    sa.column("base_weight"),
    sa.column("config", postgresql.JSONB()),
    sa.column("description"),
)
# Frozen here as 0017 wrote it, with the columns a dependency's change notes.
SOURCES = {
    "INSERT": "SELECT * FROM new_rows",
    "DELETE": "SELECT * FROM old_rows",
    "UPDATE": "SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows",
}
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


def _function(columns: Sequence[str]) -> str:
    values = ", ".join(f"('task', c.{column})" for column in columns)
    branches = "\n  ELS".join(
        f"IF TG_OP = '{operation}' THEN{NOTE.format(source=source, values=values)}"
        for operation, source in SOURCES.items()
    )
    return (
        "CREATE OR REPLACE FUNCTION aurum_note_score_changes_task_dependencies() RETURNS trigger "
        f"LANGUAGE plpgsql AS $fn$\nBEGIN\n  {branches}\n  END IF;\n  RETURN NULL;\nEND\n$fn$"
    )


def upgrade() -> None:
    op.bulk_insert(
        RULES,
        [
            {
                "code": "UNBLOCKING",
                "name": "Unblocking",
                "kind": "relationship",
                "level": "task",
                "applies_to": ["task"],
                "base_weight": 0.7,
                "config": {},
                "description": "What waits for the task: each open task waiting on it counts by its priority,"
                " more when it is due within a week, with diminishing returns.",
            }
        ],
    )
    op.execute(_function(("task_id", "depends_on_id")))


def downgrade() -> None:
    op.execute(_function(("task_id",)))
    op.execute("DELETE FROM hrm_rule_weights WHERE rule_code = 'UNBLOCKING'")
    op.execute('DELETE FROM task_scores WHERE factors @> \'[{"ruleCode": "UNBLOCKING"}]\'')
    op.execute("DELETE FROM hrm_rules WHERE code = 'UNBLOCKING'")
