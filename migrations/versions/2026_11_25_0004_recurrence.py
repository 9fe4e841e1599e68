"""recurrence: series of occurrences, skipped occurrences

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('todo', 'in_progress', 'review', 'completed')"
NEW_STATUSES = "status IN ('todo', 'in_progress', 'review', 'completed', 'skipped')"


def upgrade() -> None:
    op.add_column("tasks", sa.Column("recurrence_series_id", sa.UUID(), nullable=True))
    op.add_column("tasks", sa.Column("recurrence_index", sa.Integer(), nullable=True))
    # Tasks that already repeat start a series of their own. The owner's maintenance policy sees every row;
    # the change log is left out of it (nothing a client reads changed).
    op.execute("ALTER TABLE tasks DISABLE TRIGGER record_changes")
    op.execute(
        "UPDATE tasks SET recurrence_series_id = id, recurrence_index = 1"
        " WHERE recurrence_frequency IS NOT NULL"
    )
    op.execute("ALTER TABLE tasks ENABLE TRIGGER record_changes")
    op.create_unique_constraint(
        op.f("uq_tasks_recurrence_series_id_recurrence_index"),
        "tasks",
        ["recurrence_series_id", "recurrence_index"],
    )
    op.create_check_constraint(
        op.f("ck_tasks_recurrence_series_complete"),
        "tasks",
        "(recurrence_series_id IS NULL) = (recurrence_index IS NULL)",
    )
    op.create_check_constraint(
        op.f("ck_tasks_recurrence_index_positive"),
        "tasks",
        "recurrence_index IS NULL OR recurrence_index >= 1",
    )
    op.create_check_constraint(
        op.f("ck_tasks_recurring_in_series"),
        "tasks",
        "recurrence_frequency IS NULL OR recurrence_series_id IS NOT NULL",
    )
    op.drop_constraint(op.f("ck_tasks_status_valid"), "tasks", type_="check")
    op.create_check_constraint(op.f("ck_tasks_status_valid"), "tasks", NEW_STATUSES)


def downgrade() -> None:
    # Skipped occurrences become completed ones (closed either way) before the old statuses return.
    op.execute("ALTER TABLE tasks DISABLE TRIGGER record_changes")
    op.execute(
        "UPDATE tasks SET status = 'completed', completed_at = updated_at, kanban_column = 'done'"
        " WHERE status = 'skipped'"
    )
    op.execute("ALTER TABLE tasks ENABLE TRIGGER record_changes")
    op.drop_constraint(op.f("ck_tasks_status_valid"), "tasks", type_="check")
    op.create_check_constraint(op.f("ck_tasks_status_valid"), "tasks", OLD_STATUSES)
    op.drop_constraint(op.f("ck_tasks_recurring_in_series"), "tasks", type_="check")
    op.drop_constraint(op.f("ck_tasks_recurrence_index_positive"), "tasks", type_="check")
    op.drop_constraint(op.f("ck_tasks_recurrence_series_complete"), "tasks", type_="check")
    op.drop_constraint(op.f("uq_tasks_recurrence_series_id_recurrence_index"), "tasks", type_="unique")
    op.drop_column("tasks", "recurrence_index")
    op.drop_column("tasks", "recurrence_series_id")
