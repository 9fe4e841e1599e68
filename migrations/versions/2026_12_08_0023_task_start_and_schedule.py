"""task start and schedule: a task may start on a day (startDate) or be snoozed (deferUntil); a kept plan
(planCommit) records its blocks and each task's scheduled span

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.rls import disable_tenant_isolation, enable_tenant_isolation

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPAN = (
    "(scheduled_start IS NULL) = (scheduled_end IS NULL) AND "
    "(scheduled_end IS NULL OR scheduled_end > scheduled_start)"
)


def upgrade() -> None:
    op.add_column("tasks", sa.Column("start_date", sa.Date(), nullable=True))
    op.add_column("tasks", sa.Column("defer_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("scheduled_start", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("scheduled_end", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f("ck_tasks_scheduled_span"), "tasks", SPAN)
    op.create_table(
        "plan_blocks",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_plan_blocks_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["task_id", "user_id"],
            ["tasks.id", "tasks.user_id"],
            name=op.f("fk_plan_blocks_task_id_user_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_plan_blocks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_blocks")),
    )
    op.create_index("ix_plan_blocks_task_id_user_id", "plan_blocks", ["task_id", "user_id"])
    op.create_index("ix_plan_blocks_user_id_starts_at", "plan_blocks", ["user_id", "starts_at"])
    for statement in enable_tenant_isolation("plan_blocks"):
        op.execute(statement)


def downgrade() -> None:
    for statement in disable_tenant_isolation("plan_blocks"):
        op.execute(statement)
    op.drop_index("ix_plan_blocks_user_id_starts_at", table_name="plan_blocks")
    op.drop_index("ix_plan_blocks_task_id_user_id", table_name="plan_blocks")
    op.drop_table("plan_blocks")
    op.drop_constraint(op.f("ck_tasks_scheduled_span"), "tasks", type_="check")
    for column in ("scheduled_end", "scheduled_start", "defer_until", "start_date"):
        op.drop_column("tasks", column)
