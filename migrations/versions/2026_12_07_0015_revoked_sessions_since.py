"""revoked sessions since: the sessions ended since a time, for any user, so that a process can rebuild the
revocation cache in Redis from PostgreSQL (a Redis that restarted, lost its data or evicted the cache); and an
index on when sessions were revoked for it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.rls import create_definer_function

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVOKED_SINCE = (
    "aurum_auth_sessions_revoked_since(p_since timestamptz)",
    "TABLE (session_id uuid)",
    "SELECT id FROM auth_sessions WHERE revoked_at >= p_since",
)
REVOKED = "revoked_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_auth_sessions_revoked_at",
        "auth_sessions",
        ["revoked_at"],
        unique=False,
        postgresql_where=sa.text(REVOKED),
    )
    for statement in create_definer_function(*REVOKED_SINCE):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {REVOKED_SINCE[0]}")
    op.drop_index(
        "ix_auth_sessions_revoked_at", table_name="auth_sessions", postgresql_where=sa.text(REVOKED)
    )
