"""calendars: busy time from uploaded .ics files and subscribed URLs (the last good text kept whole), and
private feeds of the plan and due dates, found by the SHA-256 of their token

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import create_definer_function, disable_tenant_isolation, enable_tenant_isolation

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_CALENDAR_BYTES = 5 * 1024 * 1024  # frozen here as it was at this revision

FEED_LOOKUP = (
    "aurum_calendar_feed(p_hash bytea)",
    "TABLE (user_id uuid, feed_id uuid)",
    """WITH found AS (
         SELECT id, user_id, last_read_at FROM calendar_feeds WHERE token_hash = p_hash AND revoked_at IS NULL
       ), touched AS (
         UPDATE calendar_feeds SET last_read_at = now() FROM found
         WHERE calendar_feeds.id = found.id
           AND (found.last_read_at IS NULL OR found.last_read_at < now() - interval '1 minute')
       )
       SELECT user_id, id FROM found""",
)
DUE_SUBSCRIPTIONS = (
    "aurum_calendars_due(p_before timestamptz, p_limit integer)",
    "TABLE (user_id uuid, calendar_id uuid)",
    """SELECT user_id, id FROM calendars
        WHERE kind = 'subscription' AND refreshed_at < p_before
        ORDER BY refreshed_at LIMIT p_limit""",
)


def owned_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        *owned_columns(),
        sa.CheckConstraint("kind IN ('upload', 'subscription')", name=op.f("ck_calendars_kind_valid")),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name=op.f("ck_calendars_name_length")),
        sa.CheckConstraint(
            "(kind = 'subscription') = (url IS NOT NULL)", name=op.f("ck_calendars_url_for_subscriptions")
        ),
        sa.CheckConstraint(
            f"octet_length(content) <= {MAX_CALENDAR_BYTES}", name=op.f("ck_calendars_content_size")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendars_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
    )
    op.create_index("ix_calendars_user_id_created_at", "calendars", ["user_id", "created_at"], unique=False)
    op.create_index("ix_calendars_refreshed_at", "calendars", ["refreshed_at"], unique=False)
    op.create_table(
        "calendar_feeds",
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *owned_columns(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_index(
        "ix_calendar_feeds_user_id_created_at", "calendar_feeds", ["user_id", "created_at"], unique=False
    )
    statements = [*enable_tenant_isolation("calendars"), *enable_tenant_isolation("calendar_feeds")]
    statements += record_changes("calendars", "CALENDAR", ignored=("content",))
    statements += record_changes("calendar_feeds", "CALENDAR_FEED", ignored=("last_read_at",))
    statements += create_definer_function(*FEED_LOOKUP, volatility="VOLATILE")
    statements += create_definer_function(*DUE_SUBSCRIPTIONS)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for signature, *_ in (FEED_LOOKUP, DUE_SUBSCRIPTIONS):
        op.execute(f"DROP FUNCTION {signature}")
    for table in ("calendar_feeds", "calendars"):
        for statement in [*stop_recording(table), *disable_tenant_isolation(table)]:
            op.execute(statement)
    op.drop_index("ix_calendar_feeds_user_id_created_at", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_index("ix_calendars_refreshed_at", table_name="calendars")
    op.drop_index("ix_calendars_user_id_created_at", table_name="calendars")
    op.drop_table("calendars")
