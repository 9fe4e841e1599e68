"""insights by key: an index for the insight store's lookup of a user's latest standing (active or dismissed)
insight with the same dedupe key

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 23:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = "status IN ('active', 'dismissed')"


def upgrade() -> None:
    op.create_index(
        "ix_insights_user_key",
        "insights",
        ["user_id", "dedupe_key", "created_at"],
        unique=False,
        postgresql_where=sa.text(STANDING),
    )


def downgrade() -> None:
    op.drop_index("ix_insights_user_key", table_name="insights", postgresql_where=sa.text(STANDING))
