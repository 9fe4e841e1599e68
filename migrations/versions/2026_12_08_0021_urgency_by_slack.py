"""urgency by slack: URGENCY is continuous in the work time left before the due moment once the task's
effort is done, rising with lateness; its configuration and description say so

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 15:00:00.000000+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_SLACK = {"none": 0.0, "soon": 0.85, "cannot_meet": 0.9, "overdue": 1.0, "late_days": 7}
BY_SLACK_TEXT = (
    "How little work time is left before the task is due once its effort is done (your work hours and days, in"
    " your time zone): 0.85 with none left, halving with each work day of slack; a due that cannot be met"
    " 0.9; overdue from 0.9 rising towards 1.0 with lateness; no due date 0."
)
BANDS = {"overdue": 1.0, "day": 0.9, "three_days": 0.7, "week": 0.5, "later": 0.2, "none": 0.0}
BANDS_TEXT = (
    "How soon the task is due, in your time zone: overdue 1.0, within 24 h 0.9, 72 h 0.7, a week 0.5, later"
    " 0.2, no due date 0."
)
UPDATE = sa.text(
    "UPDATE hrm_rules SET config = CAST(:config AS jsonb), description = :text WHERE code = 'URGENCY'"
)


def upgrade() -> None:
    op.get_bind().execute(UPDATE, {"config": json.dumps(BY_SLACK), "text": BY_SLACK_TEXT})


def downgrade() -> None:
    op.get_bind().execute(UPDATE, {"config": json.dumps(BANDS), "text": BANDS_TEXT})
