"""avatars and journal files: resources on journal entries, users.avatar_resource_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 20:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_PARENTS = "pillar_id, area_id, project_id, task_id"
NEW_PARENTS = f"{OLD_PARENTS}, journal_entry_id"


def upgrade() -> None:
    # journal_entries already has uq_journal_entries_id_user_id (0006): the composite key keeps the owner's.
    op.add_column("resources", sa.Column("journal_entry_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_resources_journal_entry_id_user_id_journal_entries"),
        "resources",
        "journal_entries",
        ["journal_entry_id", "user_id"],
        ["id", "user_id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "ix_resources_journal_entry_id", "resources", ["journal_entry_id", "user_id"], unique=False
    )
    op.drop_constraint(op.f("ck_resources_one_parent"), "resources", type_="check")
    op.create_check_constraint(
        op.f("ck_resources_one_parent"), "resources", f"num_nonnulls({NEW_PARENTS}) <= 1"
    )

    op.add_column("users", sa.Column("avatar_resource_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_avatar_resource_id_resources"),
        "users",
        "resources",
        ["avatar_resource_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_users_avatar_resource_id"), "users", ["avatar_resource_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_users_avatar_resource_id"), table_name="users")
    op.drop_constraint(op.f("fk_users_avatar_resource_id_resources"), "users", type_="foreignkey")
    op.drop_column("users", "avatar_resource_id")

    op.drop_constraint(op.f("ck_resources_one_parent"), "resources", type_="check")
    op.create_check_constraint(
        op.f("ck_resources_one_parent"), "resources", f"num_nonnulls({OLD_PARENTS}) <= 1"
    )
    op.drop_index("ix_resources_journal_entry_id", table_name="resources")
    op.drop_constraint(
        op.f("fk_resources_journal_entry_id_user_id_journal_entries"), "resources", type_="foreignkey"
    )
    op.drop_column("resources", "journal_entry_id")
