"""resources: files attached to pillars, areas, projects and tasks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aurum.events.triggers import record_changes, stop_recording
from aurum.rls import disable_tenant_isolation, enable_tenant_isolation

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARENTS = {"pillar_id": "pillars", "area_id": "areas", "project_id": "projects", "task_id": "tasks"}
KINDS = "'DOCUMENT', 'IMAGE', 'SPREADSHEET', 'PRESENTATION', 'ARCHIVE', 'OTHER'"


def upgrade() -> None:
    op.create_table(
        "resources",
        *(sa.Column(column, sa.UUID(), nullable=True) for column in PARENTS),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "num_nonnulls(pillar_id, area_id, project_id, task_id) <= 1", name=op.f("ck_resources_one_parent")
        ),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_resources_kind_known")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_resources_size_positive")),
        sa.CheckConstraint(
            "char_length(filename) BETWEEN 1 AND 255", name=op.f("ck_resources_filename_length")
        ),
        *(
            sa.ForeignKeyConstraint(
                [column, "user_id"],
                [f"{table}.id", f"{table}.user_id"],
                name=op.f(f"fk_resources_{column}_user_id_{table}"),
                ondelete="CASCADE",
            )
            for column, table in PARENTS.items()
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_resources_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_resources_storage_key")),
    )
    op.create_index("ix_resources_user_list", "resources", ["user_id", "created_at", "id"], unique=False)
    for column in PARENTS:
        op.create_index(f"ix_resources_{column}", "resources", [column, "user_id"], unique=False)
    for statement in [*enable_tenant_isolation("resources"), *record_changes("resources", "RESOURCE")]:
        op.execute(statement)


def downgrade() -> None:
    for statement in [*stop_recording("resources"), *disable_tenant_isolation("resources")]:
        op.execute(statement)
    for column in reversed(PARENTS):
        op.drop_index(f"ix_resources_{column}", table_name="resources")
    op.drop_index("ix_resources_user_list", table_name="resources")
    op.drop_table("resources")
