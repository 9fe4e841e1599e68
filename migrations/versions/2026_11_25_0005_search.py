"""search: a stored generated tsvector with a GIN index on pillars, areas, projects and tasks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aurum.events.triggers import record_changes, stop_recording

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as it was written: the name weighs A, the description B; 'simple' lowercases, nothing more.
VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'B')"
)
SEARCHABLE = (("pillars", "PILLAR"), ("areas", "AREA"), ("projects", "PROJECT"), ("tasks", "TASK"))


def upgrade() -> None:
    for table, entity in SEARCHABLE:
        # Adding a stored generated column rewrites the table once; PostgreSQL keeps it current from then on.
        op.add_column(
            table,
            sa.Column(
                "search_vector", postgresql.TSVECTOR(), sa.Computed(VECTOR, persisted=True), nullable=False
            ),
        )
        op.create_index(f"ix_{table}_search_vector", table, ["search_vector"], postgresql_using="gin")
        # The vector follows name and description: it is no change of its own for the change log.
        for statement in [*stop_recording(table), *record_changes(table, entity, ignored=("search_vector",))]:
            op.execute(statement)


def downgrade() -> None:
    for table, entity in reversed(SEARCHABLE):
        for statement in [*stop_recording(table), *record_changes(table, entity)]:
            op.execute(statement)
        op.drop_index(f"ix_{table}_search_vector", table_name=table, postgresql_using="gin")
        op.drop_column(table, "search_vector")
