"""notifications: in-app notifications (emailed by preference) and each user's preferences

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import create_definer_function, disable_tenant_isolation, enable_tenant_isolation

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYPES = (
    "'TASK_REMINDER', 'TASK_DUE', 'TASK_OVERDUE', 'PROJECT_DEADLINE', 'UNBLOCKED_TASK', 'RECURRING_TASK', "
    "'INSIGHT', 'QUOTA_WARNING'"
)
# The users the every-minute scan must look at (the app role sees one user at a time): those with an open task
# whose reminder or due date comes within the widest windows preferences allow and that was not yet notified,
# a project deadline today or tomorrow, a task whose last dependency completed lately, or an email due.
# The scheduler then acts as each of them; the dedupe key keeps whatever it inserts to once.
CANDIDATES = (
    "aurum_notification_candidates(p_now timestamptz)",
    "TABLE (user_id uuid, timezone text, email text)",
    """SELECT u.id, u.timezone::text, u.email::text FROM users u WHERE
         EXISTS (SELECT 1 FROM tasks t WHERE t.user_id = u.id AND t.status NOT IN ('completed', 'skipped')
                 AND ((t.reminder_at IS NOT NULL AND t.reminder_at <= p_now + interval '1 day'
                       AND t.reminder_at > p_now - interval '7 days')
                   OR (t.due_date IS NOT NULL AND t.due_date <= (p_now + interval '9 days')::date
                       AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id
                                       AND n.type = 'TASK_OVERDUE' AND n.subject_id = t.id))))
      OR EXISTS (SELECT 1 FROM projects p WHERE p.user_id = u.id AND p.deadline IS NOT NULL
                 AND p.status NOT IN ('completed', 'cancelled')
                 AND p.deadline BETWEEN (p_now - interval '1 day')::date AND (p_now + interval '2 days')::date)
      OR EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks t ON t.id = d.depends_on_id
                 WHERE d.user_id = u.id AND t.completed_at > p_now - interval '1 day')
      OR EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id AND n.sent_at IS NULL
                 AND n.scheduled_for <= p_now)""",
)
# Notifications older than the cutoff, for every user at once.
PURGE = (
    "aurum_purge_notifications(p_before timestamptz)",
    "integer",
    """WITH gone AS (DELETE FROM notifications WHERE created_at < p_before RETURNING 1)
       SELECT count(*)::integer FROM gone""",
)


def upgrade() -> None:
    common = [
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
    ]
    op.create_table(
        "notifications",
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("occasion", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        *common,
        sa.CheckConstraint(f"type IN ({TYPES})", name=op.f("ck_notifications_type_valid")),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 200", name=op.f("ck_notifications_title_length")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "type", "subject_id", "occasion", name="uq_notifications_dedupe"),
    )
    op.create_index("ix_notifications_user_list", "notifications", ["user_id", "created_at", "id"])
    op.create_index("ix_notifications_user_pending_email", "notifications", ["user_id", "scheduled_for"])
    op.create_table(
        "notification_preferences",
        sa.Column("email_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("in_app_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "muted_types",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column("reminder_lead_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("due_soon_hours", sa.Integer(), server_default=sa.text("24"), nullable=False),
        *common,
        sa.CheckConstraint(
            "reminder_lead_minutes BETWEEN 0 AND 1440", name=op.f("ck_notification_preferences_lead_range")
        ),
        sa.CheckConstraint(
            "due_soon_hours BETWEEN 1 AND 168", name=op.f("ck_notification_preferences_due_soon_range")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint("user_id", name="uq_notification_preferences_user_id"),
    )
    statements: list[str] = []
    statements += enable_tenant_isolation("notifications")
    statements += enable_tenant_isolation("notification_preferences")
    statements += record_changes("notifications", "NOTIFICATION")
    statements += create_definer_function(*CANDIDATES)
    statements += create_definer_function(*PURGE, volatility="VOLATILE")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {PURGE[0]}")
    op.execute(f"DROP FUNCTION {CANDIDATES[0]}")
    for statement in [*stop_recording("notifications"), *disable_tenant_isolation("notifications")]:
        op.execute(statement)
    for statement in disable_tenant_isolation("notification_preferences"):
        op.execute(statement)
    op.drop_table("notification_preferences")
    op.drop_index("ix_notifications_user_pending_email", table_name="notifications")
    op.drop_index("ix_notifications_user_list", table_name="notifications")
    op.drop_table("notifications")
