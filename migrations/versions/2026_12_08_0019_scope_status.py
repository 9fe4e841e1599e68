"""scope status: the insight an explicit analysis gives when no detector found anything (where the scope
stands, or that nothing needs attention and what was checked), so that an analysis always says something

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 13:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
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
    sa.column("user_adjustable"),
    sa.column("description"),
)


def upgrade() -> None:
    op.bulk_insert(
        RULES,
        [
            {
                "code": "SCOPE_STATUS",
                "name": "Where it stands",
                "kind": "pattern",
                "level": "project",
                "applies_to": ["task", "project", "area", "pillar", "global"],
                "base_weight": 0.5,
                "user_adjustable": False,
                "description": "When nothing else needs saying: what comes next and why, what is blocked, whether "
                "deadlines hold by the plan; or that nothing needs attention, and what was checked.",
            }
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM hrm_rule_weights WHERE rule_code = 'SCOPE_STATUS'")
    op.execute("DELETE FROM hrm_rules WHERE code = 'SCOPE_STATUS'")
